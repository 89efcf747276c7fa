"""Fixtures for the book suite: every test runs once per book implementation, and every book a
test made has its internal state validated when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from venue.book.base import BookConfig, OrderBook
from venue.book.fast import FastBook
from venue.book.naive import NaiveBook
from venue.book.types import Phase

BOOK_CLASSES = [FastBook, NaiveBook]


@pytest.fixture(params=BOOK_CLASSES, ids=lambda cls: cls.__name__)
def book_cls(request: pytest.FixtureRequest) -> type[OrderBook]:
    return request.param


@pytest.fixture
def new_book(book_cls: type[OrderBook]) -> Iterator[Callable[..., OrderBook]]:
    """Factory for books of the parametrised class; validates each one after the test."""
    made: list[OrderBook] = []

    def make(config: BookConfig | None = None, phase: Phase = Phase.CONTINUOUS) -> OrderBook:
        book = book_cls(config, phase)
        book.validate_internal_state()
        made.append(book)
        return book

    yield make
    for book in made:
        book.validate_internal_state()


@pytest.fixture
def book(new_book: Callable[..., OrderBook]) -> OrderBook:
    """An empty book in continuous trading, no price band."""
    return new_book()
