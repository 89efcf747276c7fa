"""The ops console: a live view of the running venue in the browser, served by the venue itself on
127.0.0.1 (`[console] port`), for the operators of `[operators]` by their tokens and roles
(spec/console.md).

- `feed`: in the engine, the books' depth and phases and the degraded flag, sent to the console;
- `live`: in the FIX process, what the console knows live (that feed, which sessions are up);
- `auth`: logins by operator token, sessions, CSRF tokens;
- `pages`: the HTML; `actions`: halts, kill switches and AML holds, the operations their `venue` commands run;
- `web`: the HTTP server, roles per page and action, the read log, Server-Sent Events.
"""
