"""Regulatory records and reports (spec/records.md).

Pure functions turn journal rows into report rows (`audit`, `regulatory`, `cat`); `store` is the
only module here that reads or writes the database; `writers` writes CSV and JSON; `build` puts a
period, the store and a report function together. Trade reporting and retention have their own
modules (`trade_reporting`, `retention`).
"""
