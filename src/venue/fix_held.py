"""Messages for FIX sessions that are away, kept by the venue until the session logs on."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("venue.fix")


class HeldMessages:
    """Messages for sessions that are not logged on, kept in a file per session until it logs on.

    QuickFIX stores a message for a logged-off session under its next sequence number (files
    written and flushed per message) so that the counterparty gets it by ResendRequest. Most such
    messages are drop copies for sessions that are away, and that cost was more than the member's
    own report. Here they are appended to `<directory>/<CompID>` instead (length-prefixed records,
    one write per session per report batch) and handed to QuickFIX when the session logs on, before
    the venue answers its Logon: they take the next sequence numbers then, the Logon answer comes
    after them, and the counterparty recovers them by ResendRequest exactly as before (only
    SendingTime/OrigSendingTime tell when they were handed over; TransactTime is unchanged).

    A file being handed over is renamed `<CompID>.handing`; one left from a process that died
    meanwhile is handed over again first, every message flagged PossResend(97)=Y.

    With a FIX day (`day`: the name of the current one, `venue.fix_settings.current_fix_day`), the
    files live in a folder per day, and what was held on an earlier day is dropped when a session
    logs on: QuickFIX reset the sequence numbers and emptied its store at the day's start, so such
    messages could no more be recovered by ResendRequest than the ones QuickFIX stored. Every
    report stays in the journal (OrderStatusRequest, drop copy, reports).
    """

    HANDING = ".handing"

    def __init__(self, root: Path, day: Callable[[], str] | None = None) -> None:
        self.root = root
        self._day = day or (lambda: "")
        root.mkdir(parents=True, exist_ok=True)
        self._pending: dict[str, list[bytes]] = {}
        self._files: dict[str, BinaryIO] = {}  # comp_id -> its file in `_files_in`, open for appending
        self._files_in: Path | None = None

    @property
    def directory(self) -> Path:
        """The current FIX day's folder (the root for a non-stop session)."""
        day = self._day()
        return self.root / day if day else self.root

    def hold(self, comp_id: str, raw: str) -> None:
        data = raw.encode()
        self._pending.setdefault(comp_id, []).append(b"%d:%b" % (len(data), data))

    def flush(self) -> None:
        """Write what was held since the last flush (the report batch's end: before it counts as sent).
        Each session's file stays open for appending until the FIX day changes or the session takes
        its messages: a report batch costs a write per away session, not an open and a close. A
        failed write (disk full) is cut off the file again and its records kept for the next try."""
        if not self._pending:
            return
        directory = self.directory
        if directory != self._files_in:
            self._close_files()
            if directory != self.root:
                directory.mkdir(exist_ok=True)  # the day's folder; the root is never made again here
            self._files_in = directory
        while self._pending:
            comp_id, records = next(iter(self._pending.items()))
            f = self._files.get(comp_id)
            if f is None:
                f = self._files[comp_id] = open(directory / comp_id, "ab", buffering=0)  # noqa: SIM115
            start = f.tell()
            try:
                data = memoryview(b"".join(records))
                while data:
                    data = data[f.write(data) :]
            except BaseException:
                self._close_file(comp_id)
                os.truncate(directory / comp_id, start)  # no record cut short in the middle of the file
                raise
            del self._pending[comp_id]

    def _close_file(self, comp_id: str) -> None:
        f = self._files.pop(comp_id, None)
        if f is not None:
            f.close()

    def _close_files(self) -> None:
        for comp_id in list(self._files):
            self._close_file(comp_id)

    def take(self, comp_id: str) -> list[tuple[str, bool]]:
        """Everything held for the session, oldest first, as (message, may have been sent before);
        the file is renamed until `handed` says QuickFIX has all of it."""
        self.flush()
        self._close_file(comp_id)  # its file is renamed below: the next message starts a new one
        self._drop_earlier_days(comp_id)
        out: list[tuple[str, bool]] = []
        handing = self.directory / (comp_id + self.HANDING)
        if handing.exists():  # a hand-over that did not finish: perhaps partly stored already
            out += [(raw, True) for raw in self._read(handing)]
        path = self.directory / comp_id
        if path.exists():
            fresh = self._read(path)
            if handing.exists():
                with open(handing, "ab") as f:
                    f.write(path.read_bytes())
                path.unlink()
            else:
                os.replace(path, handing)
            out += [(raw, False) for raw in fresh]
        return out

    def _drop_earlier_days(self, comp_id: str) -> None:
        current = self.directory
        if current == self.root:
            return
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and p != current):
            for suffix in ("", self.HANDING):
                path = folder / (comp_id + suffix)
                if path.exists():
                    log.warning(
                        "%s: %d messages held on FIX day %s dropped at logon on a later day (sequence reset)",
                        comp_id,
                        len(self._read(path)),
                        folder.name,
                    )
                    path.unlink()
            if not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)

    def handed(self, comp_id: str) -> None:
        (self.directory / (comp_id + self.HANDING)).unlink(missing_ok=True)

    def count(self, comp_id: str) -> int:
        """Messages held for the session (on disk and not yet flushed)."""
        n = len(self._pending.get(comp_id, ()))
        for suffix in ("", self.HANDING):
            path = self.directory / (comp_id + suffix)
            if path.exists():
                n += len(self._read(path))
        return n

    @staticmethod
    def _read(path: Path) -> list[str]:
        """The file's records; a last record cut short (the process died while writing) is left out:
        its report batch was never counted as sent, so the venue sends it again at start-up."""
        data = path.read_bytes()
        out, i = [], 0
        while i < len(data):
            colon = data.find(b":", i)
            if colon < 0 or not data[i:colon].isdigit():
                break
            end = colon + 1 + int(data[i:colon])
            if end > len(data):
                break
            out.append(data[colon + 1 : end].decode())
            i = end
        return out
