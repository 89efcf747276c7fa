"""Alembic environment: uses the connection handed in by venue.store.migrate, or a URL given as
`-x url=...`, the VENUE_DATABASE_URL environment variable, or the config's sqlalchemy.url."""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from venue.store.repository import normalise_url
from venue.store.schema import metadata

config = context.config


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("VENUE_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database: pass -x url=... or set VENUE_DATABASE_URL")
    return normalise_url(url)


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine(_url())
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
