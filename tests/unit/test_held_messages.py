"""Messages held for sessions that are away (venue.fix_acceptor.HeldMessages): what is flushed is
kept across a restart, in order; a record cut short by a crash is left out; a hand-over that did
not finish is handed over again first, flagged as perhaps sent."""

from __future__ import annotations

import pytest

from venue.fix_acceptor import HeldMessages

ER = "35=8\x0137={}\x0117={}\x0158=text with: a colon, ünïcödé and a newline\n\x01"


def test_held_messages_survive_a_restart_in_order(tmp_path):
    held = HeldMessages(tmp_path)
    for i in range(3):
        held.hold("OPSDC", ER.format(i, i))
    held.hold("BRKADC", ER.format(9, 9))
    assert held.count("OPSDC") == 3
    held.flush()
    held.hold("OPSDC", ER.format(3, 3))  # never flushed: the process dies
    again = HeldMessages(tmp_path)
    assert again.take("OPSDC") == [(ER.format(i, i), False) for i in range(3)]
    again.handed("OPSDC")
    assert again.count("OPSDC") == 0 and again.take("OPSDC") == []
    assert again.take("BRKADC") == [(ER.format(9, 9), False)]


def test_a_record_cut_short_is_left_out(tmp_path):
    held = HeldMessages(tmp_path)
    held.hold("OPSDC", ER.format(1, 1))
    held.flush()
    with open(tmp_path / "OPSDC", "ab") as f:
        f.write(b"120:35=8\x0137=2")  # the process died in the middle of a write
    assert HeldMessages(tmp_path).take("OPSDC") == [(ER.format(1, 1), False)]


def test_an_unfinished_hand_over_comes_first_and_flagged(tmp_path):
    held = HeldMessages(tmp_path)
    held.hold("OPSDC", ER.format(1, 1))
    assert held.take("OPSDC") == [(ER.format(1, 1), False)]
    # the process dies before `handed`; meanwhile more was held
    again = HeldMessages(tmp_path)
    again.hold("OPSDC", ER.format(2, 2))
    assert again.take("OPSDC") == [(ER.format(1, 1), True), (ER.format(2, 2), False)]
    assert again.count("OPSDC") == 2  # both wait in the hand-over file until it is done
    again.handed("OPSDC")
    assert again.count("OPSDC") == 0


def test_a_failed_write_keeps_the_messages_for_the_next_flush(tmp_path):
    held = HeldMessages(tmp_path / "held")
    held.hold("OPSDC", ER.format(1, 1))
    (tmp_path / "held").rename(tmp_path / "gone")  # the directory is unwritable for a moment
    with pytest.raises(OSError):
        held.flush()
    (tmp_path / "gone").rename(tmp_path / "held")
    held.hold("OPSDC", ER.format(2, 2))
    held.flush()
    assert HeldMessages(tmp_path / "held").take("OPSDC") == [(ER.format(1, 1), False), (ER.format(2, 2), False)]
