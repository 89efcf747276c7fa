"""The matching core: order books for one security each, emitting events (see `base.OrderBook`)."""

from venue.book.base import BookConfig, OrderBook
from venue.book.fast import FastBook
from venue.book.naive import NaiveBook

__all__ = ["BookConfig", "OrderBook", "FastBook", "NaiveBook"]
