"""FIX over mutual TLS and the connection controls, over real sockets against a running sandbox
(SQLite and PostgreSQL): a member logs on with Python's ssl and a client certificate; wrong,
foreign or missing certificates, plaintext on the TLS port, plaintext from a non-loopback address,
addresses outside a session's allow-list and old passwords are refused; each refusal is recorded
with where the connection came from (spec/rules-of-engagement.md section 1)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from fixclient import FixClient

from venue.tls import Issued, fingerprint, issue, make_authority

REFUSED = (ssl.SSLError, ConnectionError, OSError, TimeoutError)


def tls_dir(venue) -> Path:
    return venue.data_dir / "tls"


def context(venue, cert: Path | None, key: Path | None = None) -> ssl.SSLContext:
    """A member's TLS context: trusts the venue's CA, presents `cert` (none if None)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls_dir(venue) / "ca.pem"))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key or cert.with_suffix(".key")))
    return ctx


def member_cert(venue, comp_id: str) -> Path:
    return tls_dir(venue) / "clients" / f"{comp_id}.pem"


def tls_client(venue, comp_id: str, cert: Path | None, key: Path | None = None) -> FixClient:
    return FixClient(venue.tls_port, comp_id, tls=context(venue, cert, key))


def refused(client: FixClient) -> str:
    """What a refused logon got: the Logout's Text(58), or how the connection ended."""
    try:
        answer = client.logon(timeout=5)
    except REFUSED as exc:
        return f"connection ended: {type(exc).__name__}"
    finally:
        client.close()
    assert answer.type == "5", f"logon was accepted: {answer}"
    return answer.get(58, "").removeprefix("Rejected Logon Attempt: ")  # QuickFIX's prefix


def logons(venue, comp_id: str) -> list[dict]:
    return [e for e in json.loads(venue.cli("logons", "--json").stdout) if e["comp_id"] == comp_id]


def test_member_logs_on_over_tls_with_its_client_certificate_and_trades(venue):
    client = tls_client(venue, "BRKA-TLS", member_cert(venue, "BRKA-TLS"))
    answer = client.logon()
    assert answer.type == "A", answer
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    client.new_order("T1", "ACME", "1", 10, "9.00", account="A-ALICE")
    assert client.exec_report("T1", "0")[39] == "0"
    client.logout()
    sha = fingerprint(member_cert(venue, "BRKA-TLS").read_bytes())
    accepted = [e for e in logons(venue, "BRKA-TLS") if e["outcome"] == "accepted"]
    assert accepted and f"TLS, client certificate CN=BRKA-TLS SHA256={sha}" in accepted[-1]["reason"]


def test_certificate_of_another_member_is_refused_with_the_reason(venue):
    text = refused(tls_client(venue, "BRKA-TLS", member_cert(venue, "BRKB-TLS")))
    assert text == "Client certificate CN=BRKB-TLS does not match SenderCompID BRKA-TLS"
    assert logons(venue, "BRKA-TLS")[-1]["outcome"] == "refused"


def test_certificate_from_another_authority_is_refused_in_the_handshake(venue, tmp_path):
    stranger = make_authority(tmp_path / "other-ca", "not the venue's CA")
    forged = issue(stranger, "BRKA-TLS", tmp_path / "other-ca")
    assert refused(tls_client(venue, "BRKA-TLS", forged.cert, forged.key)).startswith("connection ended")
    assert not [e for e in logons(venue, "BRKA-TLS") if e["outcome"] == "accepted"]


def test_no_client_certificate_is_refused_in_the_handshake(venue):
    assert refused(tls_client(venue, "BRKA-TLS", None)).startswith("connection ended")


def test_plaintext_on_the_tls_port_gets_no_logon(venue):
    plain = FixClient(venue.tls_port, "BRKA-TLS")
    assert refused(plain).startswith("connection ended")
    plain = FixClient(venue.tls_port, "BRKA")  # a plaintext session, plaintext bytes, TLS port
    assert refused(plain).startswith("connection ended")


def test_sessions_log_on_only_through_their_own_transport(venue):
    authority = Issued(tls_dir(venue) / "ca.pem", tls_dir(venue) / "ca.key")
    brka = issue(authority, "BRKA", tls_dir(venue) / "extra")  # a valid certificate for the plaintext session
    assert refused(tls_client(venue, "BRKA", brka.cert, brka.key)).startswith("connection ended")
    # ...and the TLS session is not configured on the plaintext port at all.
    assert refused(FixClient(venue.port, "BRKA-TLS")).startswith("connection ended")
    for comp_id, port, tls in (
        ("BRKA", venue.port, None),
        ("BRKA-TLS", venue.tls_port, member_cert(venue, "BRKA-TLS")),
    ):
        client = FixClient(port, comp_id, tls=context(venue, tls) if tls else None)
        assert client.logon().type == "A", f"{comp_id} still logs on through its own transport"
        client.logout()


def test_a_bound_certificate_is_the_only_one_accepted(venue):
    authority = Issued(tls_dir(venue) / "ca.pem", tls_dir(venue) / "ca.key")
    second = issue(authority, "BRKA-TLS", tls_dir(venue) / "second")  # same CA, same CN, another key
    venue.cli(
        "members", "bind-certificate", "BRKA-TLS", "--cert", str(member_cert(venue, "BRKA-TLS")), "--reason", "pin"
    )
    assert refused(tls_client(venue, "BRKA-TLS", second.cert, second.key)) == (
        "Client certificate is not the one bound to BRKA-TLS"
    )
    first = tls_client(venue, "BRKA-TLS", member_cert(venue, "BRKA-TLS"))
    assert first.logon().type == "A"
    first.logout()
    wrong = venue.cli(
        "members",
        "bind-certificate",
        "BRKA-TLS",
        "--cert",
        str(member_cert(venue, "BRKB-TLS")),
        "--reason",
        "x",
        check=False,
    )
    assert wrong.returncode == 2 and "CN is BRKB-TLS" in wrong.stderr
    venue.cli("members", "bind-certificate", "BRKA-TLS", "--none", "--reason", "key rotation")
    again = tls_client(venue, "BRKA-TLS", second.cert, second.key)
    assert again.logon(reset=True).type == "A"  # the session logged on before: sequence numbers restart
    again.logout()


def test_address_allow_list_refuses_then_admits_after_the_change(venue):
    venue.cli("members", "allow-addresses", "BRKA", "10.1.2.3,10.1.2.4", "--reason", "member's gateways")
    assert refused(FixClient(venue.port, "BRKA")) == "Connections from 127.0.0.1 are not allowed for BRKA"
    listed = {r["comp_id"]: r for r in json.loads(venue.cli("members", "list", "--json").stdout)}
    assert listed["BRKA"]["allowed_addresses"] == "10.1.2.3,10.1.2.4"
    bad = venue.cli("members", "allow-addresses", "BRKA", "10.1.2", "--reason", "typo", check=False)
    assert bad.returncode == 2 and "'10.1.2' is not an IP address" in bad.stderr
    venue.cli("members", "allow-addresses", "BRKA", "10.1.2.3,127.0.0.1", "--reason", "local gateway")
    client = FixClient(venue.port, "BRKA")
    assert client.logon().type == "A"
    client.logout()


def test_password_rotation_applies_at_the_next_logon_and_is_audited_without_the_secret(venue):
    venue.cli("members", "set-password", "BRKB", "--password", "rotated-password-1", "--reason", "quarterly rotation")
    assert refused(FixClient(venue.port, "BRKB")) == "Invalid username or password"
    client = FixClient(venue.port, "BRKB", password="rotated-password-1")
    assert client.logon().type == "A"
    client.logout()
    short = venue.cli("members", "set-password", "BRKB", "--password", "short", "--reason", "x", check=False)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    generated = venue.cli("members", "set-password", "BRKB", "--generate", "--reason", "handover").stdout
    password = generated.split("new password: ")[1].strip()
    client = FixClient(venue.port, "BRKB", password=password)
    assert client.logon(reset=True).type == "A"  # the session logged on before: sequence numbers restart
    client.logout()
    changes = [c for c in json.loads(venue.cli("audit", "changes", "--json").stdout) if c["key"] == "BRKB"]
    rotations = [c for c in changes if "password_hash" in c["after"]]
    assert [c["reason"] for c in rotations] == ["quarterly rotation", "handover"]
    assert all(
        c["after"]["password_hash"] == "(secret)" and c["before"]["password_hash"] == "(secret)" for c in rotations
    )
    assert password not in json.dumps(changes) and "rotated-password-1" not in json.dumps(changes)


def _non_loopback_address() -> str | None:
    if shutil.which("ip") is None:
        return None
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        address = line.split()[3].split("/")[0]
        try:
            with socket.socket() as s:  # reachable from this host (the acceptors listen on every address)
                s.bind((address, 0))
            return address
        except OSError:
            continue
    return None


def test_plaintext_from_a_non_loopback_address_is_refused(venue):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to connect from")
    text = refused(FixClient(venue.port, "BRKA", host=address))
    assert text == f"Plaintext FIX is accepted from loopback only, not from {address}: use TLS"
    assert f"(from {address}, plaintext)" in logons(venue, "BRKA")[-1]["reason"]


def test_transport_change_applies_at_the_next_start(venue):
    venue.cli("members", "set-transport", "BRKB", "tls", "--reason", "member moved to TLS")
    venue.stop()
    venue.restart()
    assert refused(FixClient(venue.port, "BRKB")).startswith("connection ended")
    authority = Issued(tls_dir(venue) / "ca.pem", tls_dir(venue) / "ca.key")
    brkb = issue(authority, "BRKB", tls_dir(venue) / "extra")
    client = tls_client(venue, "BRKB", brkb.cert, brkb.key)
    assert client.logon().type == "A"
    client.logout()
