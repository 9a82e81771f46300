# A minimal Alembic environment standing in for Luna's (alembic/env.py): it only has to read
# alembic_version and resolve it against Luna's revision graph, which starts at "001".
import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["LUNA_COMPAT_URL"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
