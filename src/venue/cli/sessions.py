"""`venue members set-password|set-transport|allow-addresses|bind-certificate`: how a FIX session
may connect (spec/rules-of-engagement.md section 1). Each change is written through `Store.change`,
so it is in the registry change audit with the operator and the reason (a password as "(secret)").

Passwords, address allow-lists and certificate bindings are read at every logon: they apply to the
session's next logon (a session logged on now stays logged on). The transport chooses the acceptor
the session is configured on, so it applies at the venue's next start.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import click

from venue.cli.common import REASON, open_store, operator_name
from venue.clock import now_us
from venue.model import Transport

MIN_PASSWORD = 12


def _change(ctx: click.Context, comp_id: str, values: dict, reason: str) -> None:
    store = open_store(ctx)
    if comp_id not in store.load_world().sessions:
        raise click.ClickException(f"no session {comp_id} (venue members list shows the sessions)")
    store.change("session", comp_id, values, operator=operator_name(ctx), reason=reason, notify=None)


@click.command("set-password")
@click.argument("comp_id")
@click.option("--password", help="The new password (prompted for when neither this nor --generate is given).")
@click.option("--generate", is_flag=True, help="Make a random password and print it once.")
@REASON
@click.pass_context
def set_password(ctx: click.Context, comp_id: str, password: str | None, generate: bool, reason: str) -> None:
    """Rotate a session's logon password (applies at its next logon)."""
    from venue.passwords import hash_password

    if generate and password is not None:
        raise click.UsageError("give --password or --generate, not both")
    if generate:
        password = secrets.token_urlsafe(18)
    elif password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters (or --generate)", param_hint="--password")
    _change(ctx, comp_id, {"password_hash": hash_password(password), "password_changed_us": now_us()}, reason)
    click.echo(f"password of {comp_id} changed; it applies at the session's next logon")
    if generate:
        click.echo(f"new password: {password}")


@click.command("set-transport")
@click.argument("comp_id")
@click.argument("transport", type=click.Choice([t.value for t in Transport]))
@REASON
@click.pass_context
def set_transport(ctx: click.Context, comp_id: str, transport: str, reason: str) -> None:
    """Log a session on over TLS (client certificate with CN = CompID) or plaintext.

    Applies at the venue's next start: each session is configured on one acceptor."""
    _change(ctx, comp_id, {"transport": Transport(transport)}, reason)
    where = "the TLS port ([fix] tls_port)" if transport == Transport.TLS.value else "the plaintext port"
    click.echo(f"session {comp_id} logs on over {transport} at {where} from the venue's next start")


def _addresses(text: str) -> tuple[str, ...]:
    if text.strip().lower() == "any":
        return ()
    found = []
    for part in (p.strip() for p in text.split(",")):
        try:
            found.append(str(ipaddress.ip_address(part)))
        except ValueError:
            raise click.BadParameter(
                f"{part!r} is not an IP address: give addresses separated by commas, or 'any'", param_hint="ADDRESSES"
            ) from None
    return tuple(dict.fromkeys(found))


@click.command("allow-addresses")
@click.argument("comp_id")
@click.argument("addresses")
@REASON
@click.pass_context
def allow_addresses(ctx: click.Context, comp_id: str, addresses: str, reason: str) -> None:
    """Let a session log on only from these IP addresses (comma-separated), or from 'any'.

    Applies at its next logon; a logon from elsewhere is answered with a Logout naming the address."""
    allowed = _addresses(addresses)
    _change(ctx, comp_id, {"allowed_addresses": allowed}, reason)
    click.echo(f"session {comp_id} may log on from {', '.join(allowed) if allowed else 'any address'}")


@click.command("bind-certificate")
@click.argument("comp_id")
@click.option(
    "--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The client's PEM certificate."
)
@click.option(
    "--none", "unbind", is_flag=True, help="Accept any certificate from the venue's CA whose CN is the CompID."
)
@REASON
@click.pass_context
def bind_certificate(ctx: click.Context, comp_id: str, cert: Path | None, unbind: bool, reason: str) -> None:
    """Pin a TLS session to one client certificate (applies at its next logon).

    Without a binding, any certificate signed by the venue's CA ([fix] tls_ca) whose subject CN is
    the CompID is accepted; with one, only that certificate (by its SHA-256 fingerprint)."""
    from venue.tls import common_name, fingerprint

    if (cert is None) == (not unbind):
        raise click.UsageError("give --cert FILE or --none")
    sha256 = None
    if cert is not None:
        try:
            pem = cert.read_bytes()
            sha256, cn = fingerprint(pem), common_name(pem)
        except ValueError:
            raise click.BadParameter(f"{cert} is not a PEM certificate", param_hint="--cert") from None
        if cn != comp_id:
            raise click.BadParameter(
                f"the certificate's CN is {cn or '(none)'}; a session's certificate names its CompID {comp_id}",
                param_hint="--cert",
            )
    _change(ctx, comp_id, {"cert_sha256": sha256}, reason)
    if sha256 is None:
        click.echo(f"session {comp_id} accepts any certificate of the venue's CA with CN={comp_id}")
    else:
        click.echo(f"session {comp_id} bound to the certificate SHA256={sha256}")
