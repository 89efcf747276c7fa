"""Messages held for sessions that are away (venue.fix_acceptor.HeldMessages): what is flushed is
kept across a restart, in order; a record cut short by a crash is left out; a hand-over that did
not finish is handed over again first, flagged as perhaps sent."""

from __future__ import annotations

import resource
import signal

import pytest

from venue.fix_held import HeldMessages

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


def test_a_write_cut_short_is_cut_off_the_file_and_written_whole_at_the_next_flush(tmp_path):
    """The file is full mid-record (a real fault: the process's file size limit, EFBIG): the part
    written is cut off again, so what comes after it is not read as part of that record."""
    held = HeldMessages(tmp_path)
    held.hold("OPSDC", ER.format(1, 1))
    held.flush()
    size = (tmp_path / "OPSDC").stat().st_size
    big = ER.format(2, "x" * 5000)
    held.hold("OPSDC", big)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1000, hard))
    try:
        with pytest.raises(OSError):
            held.flush()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert (tmp_path / "OPSDC").stat().st_size == size
    held.hold("OPSDC", ER.format(3, 3))
    held.flush()
    assert HeldMessages(tmp_path).take("OPSDC") == [(m, False) for m in (ER.format(1, 1), big, ER.format(3, 3))]


def test_what_was_held_on_an_earlier_fix_day_is_dropped_at_logon(tmp_path):
    day = ["2026-12-04"]
    held = HeldMessages(tmp_path, lambda: day[0])
    held.hold("OPSDC", ER.format(1, 1))
    held.hold("BRKADC", ER.format(2, 2))
    held.flush()
    held.hold("OPSDC", ER.format(3, 3))  # held before the day changed, flushed after it
    day[0] = "2026-12-05"
    held.flush()
    held.hold("OPSDC", ER.format(4, 4))
    assert held.take("OPSDC") == [(ER.format(3, 3), False), (ER.format(4, 4), False)]
    held.handed("OPSDC")
    assert (tmp_path / "2026-12-04" / "BRKADC").exists(), "another session's earlier day waits for its logon"
    assert held.take("BRKADC") == []
    assert not (tmp_path / "2026-12-04").exists(), "an emptied earlier day's folder is removed"


def test_fix_day_names_the_utc_date_the_day_started_on():
    from datetime import date

    from venue.clock import SECOND_US, day_start_us
    from venue.fix_settings import fix_day

    midnight = day_start_us(date(2024, 3, 1))
    five_pm = 17 * 3600 * SECOND_US
    assert fix_day(midnight + five_pm - 1, "17:00:00") == "2024-02-29"  # leap day: still yesterday's
    assert fix_day(midnight + five_pm, "17:00:00") == "2024-03-01"
    assert fix_day(midnight, "00:00:00") == "2024-03-01" and fix_day(midnight - 1, "00:00:00") == "2024-02-29"
    assert fix_day(midnight, None) == ""
