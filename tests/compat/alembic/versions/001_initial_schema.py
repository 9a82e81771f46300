"""Luna's first revision, by its id (Luna's alembic/versions/001_initial_schema.py).

Only its place in the graph matters here (revision "001", no parent): the suite checks that Luna's
alembic recognises a database lunadb brought to 001, it never runs this upgrade.
"""
revision = "001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    raise RuntimeError("the compatibility suite never runs Luna's upgrade; lunadb creates the schema")


def downgrade():
    raise RuntimeError("not used by the compatibility suite")
