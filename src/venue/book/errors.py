"""Errors of the matching core: one base class, raised only for broken invariants or misuse.

A refused command is never an exception: it is a `Rejected` event with a `BookReject` code.
"""

from __future__ import annotations


class BookError(Exception):
    """Base class of every exception the matching core raises on purpose."""


class IllegalTransition(BookError):
    """An order event that the OrdStatus transition table does not allow in the current state."""

    def __init__(self, order_id: int, status: object, transition: object) -> None:
        super().__init__(f"order {order_id}: no transition {transition!s} from {status!s}")
        self.order_id = order_id
        self.status = status
        self.transition = transition


class InconsistentEvent(BookError):
    """An event whose quantities disagree with what is known about the order."""


class BookStateError(BookError):
    """A command that would break a book invariant, e.g. opening continuous trading on a crossed
    book (call `uncross()` first)."""
