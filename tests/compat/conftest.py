"""Databases for the Luna compatibility suite: a SQLite file, and fresh databases on the local
PostgreSQL and MariaDB servers (dropped afterwards). With CI set, an unreachable server fails the
test instead of skipping it."""
import os
import subprocess
import uuid

import pytest

BACKENDS = ["sqlite", "postgresql", "mysql"]
PG_ADMIN = os.environ.get("LUNADB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MY_HOST = os.environ.get("LUNADB_TEST_MYSQL_HOST", "127.0.0.1")


def unreachable(what, error):
    message = f"{what} unreachable: {error}"
    if os.environ.get("CI"):
        pytest.fail("server required in CI but " + message)
    pytest.skip(message)


class Database:
    def __init__(self, backend, lunadb_url, sqlalchemy_url, workdir):
        self.backend, self.lunadb_url, self.sqlalchemy_url, self.workdir = backend, lunadb_url, sqlalchemy_url, workdir

    def lunadb(self, *args, expect=0):
        env = {"PATH": os.environ["PATH"], "HOME": str(self.workdir), "LUNA_ENV_FILE": "", "DB_URL": self.lunadb_url}
        done = subprocess.run([os.environ["LUNADB_BIN"], *args], cwd=self.workdir, env=env, capture_output=True,
                              text=True, timeout=300)
        output = done.stdout + done.stderr
        assert done.returncode == expect, f"lunadb {' '.join(args)} exited {done.returncode}:\n{output}"
        return output

    def head(self):
        """The one head revision of lunadb's migration chain, as `lunadb heads` reports it, so the suite
        follows new revisions instead of naming the newest one."""
        heads = [line.split()[0] for line in self.lunadb("heads").splitlines() if line.endswith("(head)")]
        assert len(heads) == 1, f"expected one head, lunadb heads printed {heads}"
        return heads[0]


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    backend = request.param
    name = "luna_compat_" + uuid.uuid4().hex[:10]
    if backend == "sqlite":
        path = tmp_path / "luna.db"
        yield Database(backend, f"sqlite:///{path}", f"sqlite:///{path}", tmp_path)
        return
    if backend == "postgresql":
        import psycopg2
        try:
            admin = psycopg2.connect(PG_ADMIN, connect_timeout=5)
        except psycopg2.OperationalError as error:
            unreachable("PostgreSQL", error)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        try:
            yield Database(backend, f"{base}/{name}", f"{base.replace('postgresql://', 'postgresql+psycopg2://')}/{name}",
                           tmp_path)
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        return
    import pymysql
    try:
        admin = pymysql.connect(host=MY_HOST, user="root", connect_timeout=5, autocommit=True)
    except pymysql.err.OperationalError as error:
        unreachable("MariaDB", error)
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield Database(backend, f"mysql+pymysql://root@{MY_HOST}:3306/{name}?charset=utf8mb4",
                       f"mysql+pymysql://root@{MY_HOST}:3306/{name}?charset=utf8mb4", tmp_path)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
