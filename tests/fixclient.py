"""A small FIX 4.4 initiator over a raw socket (simplefix), independent of the venue's own code.

Tests use it as a member would: log on, send orders, read execution reports. It answers
TestRequests, keeps every application message it received, and can wait for one that matches.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime

import simplefix

SOH = b"\x01"


class Msg(dict):
    """A received FIX message as {tag: str value}; repeated tags keep the first value. `pairs` keeps
    every field in order, for repeating groups."""

    pairs: list[tuple[int, str]]

    @property
    def type(self) -> str:
        return self.get(35, "")

    def group(self, first_tag: int, tags: set[int] | None = None) -> list[dict[int, str]]:
        """The entries of a repeating group: each starts at `first_tag`; only `tags` are kept (all
        fields up to the next entry when None)."""
        entries: list[dict[int, str]] = []
        for tag, value in self.pairs:
            if tag == first_tag:
                entries.append({})
            if entries and (tags is None or tag in tags or tag == first_tag):
                entries[-1].setdefault(tag, value)
        return entries

    def __repr__(self) -> str:
        return "|".join(f"{k}={v}" for k, v in self.items())


def _ts() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%d-%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


class FixClient:
    """One FIX session from the member's side."""

    def __init__(
        self,
        port: int,
        comp_id: str,
        *,
        target: str = "ATS",
        host: str = "127.0.0.1",
        password: str | None = "sandbox",
        username: str | None = None,
        heartbeat: int = 30,
        seq: int = 1,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls`: connect over TLS with this context (its client certificate, the CA it trusts)."""
        self.port, self.comp_id, self.target, self.host = port, comp_id, target, host
        self.tls = tls
        self.password = password
        self.username = comp_id if username is None else username
        self.heartbeat = heartbeat
        self.out_seq = seq
        self.sock: socket.socket | None = None
        self.parser = simplefix.FixParser()
        self.received: list[Msg] = []
        self._cursor = 0
        self.closed = False

    # ------------------------------------------------------------ session
    def connect(self) -> FixClient:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock
        self.closed = False
        return self

    def logon(self, timeout: float = 10.0, reset: bool = False) -> Msg:
        """Log on and return the venue's answer (35=A, or 35=5 if refused)."""
        if self.sock is None:
            self.connect()
        fields = [(98, "0"), (108, str(self.heartbeat))]
        if reset:
            fields.append((141, "Y"))
        if self.username:
            fields.append((553, self.username))
        if self.password is not None:
            fields.append((554, self.password))
        self.send("A", fields)
        answer = self.wait_for(lambda m: m.type in ("A", "5"), timeout, admin=True)
        if answer.type == "A":
            # A venue that missed some of our messages asks for them right after its Logon; answer
            # (gap-fill) before anything else is sent, or the gap fill would skip our next message.
            self.drain(0.3)
        return answer

    def logout(self, timeout: float = 5.0) -> None:
        if self.sock is None:
            return
        try:
            self.send("5", [])
            self.wait_for(lambda m: m.type == "5", timeout, admin=True)
        except (TimeoutError, ConnectionError, OSError):
            pass
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self.closed = True

    # ------------------------------------------------------------ sending
    def encode(self, msg_type: str, fields: list[tuple[int, str]], seq: int | None = None) -> bytes:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.comp_id, header=True)
        m.append_pair(56, self.target, header=True)
        m.append_pair(34, str(self.out_seq if seq is None else seq), header=True)
        m.append_pair(52, _ts(), header=True)
        for tag, value in fields:
            m.append_pair(tag, value)
        return m.encode()

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        raw = self.encode(msg_type, fields)
        self.out_seq += 1
        self.send_raw(raw)

    def _gap_fill(self, begin: int) -> None:
        m = simplefix.FixMessage()
        for tag, value in (
            (8, "FIX.4.4"),
            (35, "4"),
            (49, self.comp_id),
            (56, self.target),
            (34, str(begin)),
            (43, "Y"),
            (52, _ts()),
            (122, _ts()),
        ):
            m.append_pair(tag, value, header=True)
        m.append_pair(123, "Y")
        m.append_pair(36, str(self.out_seq))
        self.send_raw(m.encode())

    def send_raw(self, raw: bytes) -> None:
        assert self.sock is not None, "not connected"
        self.sock.sendall(raw)

    def new_order(
        self,
        cl_ord_id: str,
        symbol: str,
        side: str,
        qty,
        price=None,
        *,
        account: str | None = None,
        ord_type: str | None = None,
        tif: str = "0",
        capacity: str | None = "A",
        extra: list[tuple[int, str]] | None = None,
    ) -> None:
        """Send a NewOrderSingle (limit if a price is given, else market); OrderCapacity(528) A
        (agency) unless `capacity` says otherwise (None: left out)."""
        fields = [
            (11, cl_ord_id),
            (55, symbol),
            (54, side),
            (60, _ts()),
            (38, str(qty)),
            (40, ord_type or ("2" if price is not None else "1")),
            (59, tif),
        ]
        if price is not None:
            fields.append((44, str(price)))
        if account is not None:
            fields.append((1, account))
        if capacity is not None:
            fields.append((528, capacity))
        fields += extra or []
        self.send("D", fields)

    def cancel(self, cl_ord_id: str, orig: str | None, symbol: str, side: str, order_id: str | None = None) -> None:
        fields = [(11, cl_ord_id), (55, symbol), (54, side), (60, _ts())]
        if orig is not None:
            fields.append((41, orig))
        if order_id is not None:
            fields.append((37, order_id))
        self.send("F", fields)

    def replace(
        self,
        cl_ord_id: str,
        orig: str,
        symbol: str,
        side: str,
        qty,
        price,
        *,
        account: str | None = None,
        tif: str | None = None,
        ord_type: str = "2",
        capacity: str | None = None,
    ) -> None:
        fields = [
            (11, cl_ord_id),
            (41, orig),
            (55, symbol),
            (54, side),
            (60, _ts()),
            (38, str(qty)),
            (40, ord_type),
            (44, str(price)),
        ]
        if account is not None:
            fields.append((1, account))
        if tif is not None:
            fields.append((59, tif))
        if capacity is not None:
            fields.append((528, capacity))
        self.send("G", fields)

    def status(self, cl_ord_id: str, symbol: str, side: str, order_id: str | None = None) -> None:
        fields = [(11, cl_ord_id), (55, symbol), (54, side)]
        if order_id is not None:
            fields.append((37, order_id))
        self.send("H", fields)

    # ------------------------------------------------------------ receiving
    def _read(self, timeout: float) -> None:
        assert self.sock is not None, "not connected"
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        if not data:
            self.closed = True
            raise ConnectionError("venue closed the connection")
        self.parser.append_buffer(data)
        while True:
            raw = self.parser.get_message()
            if raw is None:
                break
            msg = Msg()
            msg.pairs = [(int(tag), value.decode(errors="replace")) for tag, value in raw.pairs]
            for tag, value in msg.pairs:
                msg.setdefault(tag, value)
            if msg.type == "1":  # TestRequest -> Heartbeat
                self.send("0", [(112, msg.get(112, ""))])
            elif msg.type == "2":  # ResendRequest -> we never resend orders: gap-fill the range
                self._gap_fill(int(msg.get(7, "1")))
            self.received.append(msg)

    def wait_for(self, pred: Callable[[Msg], bool], timeout: float = 10.0, admin: bool = False) -> Msg:
        """The first message not yet consumed that matches `pred` (application messages only unless admin)."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._cursor, len(self.received)):
                m = self.received[i]
                if (admin or m.type not in ("0", "1", "2", "4", "5", "A")) and pred(m) and not m.get("_used"):
                    m["_used"] = "1"
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.comp_id}: no matching message in {timeout}s; got {self.received[-5:]}")
            self._read(min(left, 0.2))

    def next_app(self, timeout: float = 10.0) -> Msg:
        """The next application message not yet consumed."""
        return self.wait_for(lambda m: True, timeout)

    def exec_report(self, cl_ord_id: str | None = None, exec_type: str | None = None, timeout: float = 10.0) -> Msg:
        """The next ExecutionReport for `cl_ord_id` (and ExecType, if given)."""

        def match(m: Msg) -> bool:
            return (
                m.type == "8"
                and (cl_ord_id is None or m.get(11) == cl_ord_id)
                and (exec_type is None or m.get(150) == exec_type)
            )

        return self.wait_for(match, timeout)

    def drain(self, seconds: float = 0.3) -> list[Msg]:
        """Read for a while; return application messages that arrived and were not consumed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(max(0.0, min(0.1, deadline - time.monotonic())))
        return [m for m in self.received if m.type not in ("0", "1", "2", "4", "5", "A") and not m.get("_used")]
