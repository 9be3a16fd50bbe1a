"""Alembic environment: run by `domainbots db upgrade` and at every start.

Normally called from core.db with an open connection in ``config.attributes``; the
`alembic` command line also works, against DOMAINBOTS_DATABASE_URL.
"""

from alembic import context
from sqlmodel import SQLModel

import core.ledger  # noqa: F401  (registers the tables on SQLModel.metadata)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from core.db import Database
    from core.settings import Settings

    database = Database(Settings().database_url)
    with database.engine.begin() as own_connection:
        _run(own_connection)
