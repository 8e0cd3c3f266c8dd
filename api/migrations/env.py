"""Alembic environment: runs against the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from api.orm import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one, which SQLite refuses
            # while other tables' rows refer to it (placements to referrals); the references
            # are checked once the schema is settled instead.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"the migration left rows referring to nothing: {broken[:5]}")


run_migrations_online()
