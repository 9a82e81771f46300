#!/usr/bin/env python3
"""The SQLAlchemy 2.x peer of `lunadb bench writes`.

Does the same work as the C++ benchmark on SQLite with the same pragmas (WAL, synchronous=NORMAL,
foreign_keys=ON, busy timeout 5 s) and the same two tables of schema v1 (conversations, messages,
columns, checks and indexes as in shared/spec/schema.md):
  1. messages inserted one row per transaction, each also bumping the conversation's
     message_count and updated_at (as the lunadb store does);
  2. messages inserted 1000 rows per transaction, with one counter update per batch;
  3. the newest 50 messages of a conversation read back, p50/p99 latency.
Each is run with the ORM (Session, mapped classes: how Luna's Python version writes) and with Core
(insert()/update() on Table objects). Prints JSON with --json.

With --url (a SQLAlchemy URL: postgresql+psycopg2://..., mysql+pymysql://...?charset=utf8mb4) the
same work runs on that server database; the two tables are created before each run and dropped
after, so the database must not hold them already. Engines use SQLAlchemy's defaults (QueuePool,
insertmanyvalues for the batches), as Luna's Python version does.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone

from sqlalchemy import (CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        create_engine, event, insert, select, update)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

BATCH_SIZE = 1000
READ_LIMIT = 50


def message_content(i):
    # The same text the C++ benchmark writes.
    return f"Benchmark message {i}: the quick brown fox jumps over the lazy dog. \U0001F319"


def message_role(i):
    return "user" if i % 2 == 0 else "assistant"


def utc_now():
    # Naive UTC, the way SQLAlchemy's SQLite DateTime stores "YYYY-MM-DD HH:MM:SS.ffffff".
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[str | None] = mapped_column("metadata", Text)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    message_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    __table_args__ = (Index("ix_conversations_updated_at", "updated_at"),)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE", name="fk_messages_conversation_id_conversations"),
        nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, nullable=False)
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'system', 'tool')", name="ck_messages_role"),
        CheckConstraint("sentiment_score BETWEEN -1 AND 1", name="ck_messages_sentiment_score"),
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
    )


def make_server_engine(url):
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def make_engine(path):
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()

    Base.metadata.create_all(engine)
    return engine


class Stopwatch:
    """Wall-clock and CPU seconds, as the C++ benchmark reports both."""

    def __init__(self):
        self.wall = 0.0
        self.cpu = 0.0

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu
        return False


def rates(rows, watch):
    return rows / watch.wall, rows / watch.cpu


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[int(p * (len(ordered) - 1))]


def bench_orm(engine, contents, reads):
    rows = len(contents)
    with Session(engine) as session:
        single = Conversation()
        batched = Conversation()
        session.add_all([single, batched])
        session.commit()
        single_id, batched_id = single.id, batched.id

        watch = Stopwatch()
        with watch:
            for i, content in enumerate(contents):
                now = utc_now()
                session.add(Message(conversation_id=single_id, role=message_role(i), content=content,
                                    created_at=now, sentiment_score=0.1))
                single.message_count += 1
                single.updated_at = now
                session.commit()
        single_rate = rates(rows, watch)

        watch = Stopwatch()
        for start in range(0, rows, BATCH_SIZE):
            chunk = contents[start:start + BATCH_SIZE]
            # Building the input objects is the caller's work, as in the C++ benchmark.
            now = utc_now()
            objects = [Message(conversation_id=batched_id, role=message_role(start + k), content=content,
                               created_at=now, sentiment_score=0.1) for k, content in enumerate(chunk)]
            with watch:
                session.add_all(objects)
                batched.message_count += len(objects)
                batched.updated_at = now
                session.commit()
        batch_rate = rates(rows, watch)

        latencies = []
        query = (select(Message).where(Message.conversation_id == batched_id)
                 .order_by(Message.created_at.desc(), Message.id.desc()).limit(READ_LIMIT))
        for _ in range(reads):
            started = time.perf_counter()
            newest = session.scalars(query).all()
            newest.reverse()
            latencies.append((time.perf_counter() - started) * 1e6)
            session.expunge_all()  # read from the database each time, not from the identity map
        assert len(newest) == min(READ_LIMIT, rows)
    return single_rate, batch_rate, latencies


def bench_core(engine, contents, reads):
    rows = len(contents)
    conversations = Conversation.__table__
    messages = Message.__table__
    with engine.begin() as connection:
        now = utc_now()
        single_id = connection.execute(insert(conversations).values(started_at=now, updated_at=now,
                                                                     message_count=0)).inserted_primary_key[0]
        batched_id = connection.execute(insert(conversations).values(started_at=now, updated_at=now,
                                                                      message_count=0)).inserted_primary_key[0]
    insert_message = insert(messages)

    def bump(connection, conversation_id, count, now):
        connection.execute(update(conversations).where(conversations.c.id == conversation_id)
                           .values(message_count=conversations.c.message_count + count, updated_at=now))

    watch = Stopwatch()
    with watch:
        for i, content in enumerate(contents):
            with engine.begin() as connection:
                now = utc_now()
                bump(connection, single_id, 1, now)
                connection.execute(insert_message, {"conversation_id": single_id, "role": message_role(i),
                                                    "content": content, "created_at": now,
                                                    "sentiment_score": 0.1})
    single_rate = rates(rows, watch)

    watch = Stopwatch()
    for start in range(0, rows, BATCH_SIZE):
        chunk = contents[start:start + BATCH_SIZE]
        now = utc_now()
        params = [{"conversation_id": batched_id, "role": message_role(start + k), "content": content,
                   "created_at": now, "sentiment_score": 0.1} for k, content in enumerate(chunk)]
        with watch:
            with engine.begin() as connection:
                bump(connection, batched_id, len(params), now)
                connection.execute(insert_message, params)
    batch_rate = rates(rows, watch)

    latencies = []
    query = (select(messages).where(messages.c.conversation_id == batched_id)
             .order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(READ_LIMIT))
    with engine.connect() as connection:
        for _ in range(reads):
            started = time.perf_counter()
            newest = connection.execute(query).all()
            newest.reverse()
            latencies.append((time.perf_counter() - started) * 1e6)
    assert len(newest) == min(READ_LIMIT, rows)
    return single_rate, batch_rate, latencies


def bench_postgres_copy(engine, contents):
    """The floor for batches on PostgreSQL: no ORM, no SQL per row. Per batch, in one transaction,
    the same counter update and then the rows by psycopg2's COPY (ids assigned by the server)."""
    import io
    rows = len(contents)
    conversations = Conversation.__table__
    with engine.begin() as connection:
        now = utc_now()
        conversation_id = connection.execute(insert(conversations).values(
            started_at=now, updated_at=now, message_count=0)).inserted_primary_key[0]
    raw = engine.raw_connection()
    try:
        watch = Stopwatch()
        for start in range(0, rows, BATCH_SIZE):
            chunk = contents[start:start + BATCH_SIZE]
            now = utc_now()
            stamp = now.isoformat(sep=" ")
            text = "".join(f"{conversation_id}\t{message_role(start + k)}\t{content}\t{stamp}\t0.1\n"
                           for k, content in enumerate(chunk))  # no tab, newline or backslash in the contents
            with watch:
                cursor = raw.cursor()
                cursor.execute("UPDATE conversations SET message_count = message_count + %s, updated_at = %s "
                               "WHERE id = %s", (len(chunk), now, conversation_id))
                cursor.copy_expert("COPY messages (conversation_id, role, content, created_at, sentiment_score) "
                                   "FROM STDIN", io.StringIO(text))
                raw.commit()
        return rates(rows, watch)
    finally:
        raw.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="messages written by each insert benchmark")
    parser.add_argument("--reads", type=int, default=2000, help="reads of the newest 50 messages")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--url", help="a server database (SQLAlchemy URL) instead of a SQLite file")
    args = parser.parse_args()
    if args.rows < 1 or args.reads < 1:
        parser.error("--rows and --reads must be at least 1")

    import sqlalchemy
    import sqlite3

    contents = [message_content(i) for i in range(args.rows)]
    scratch = tempfile.mkdtemp(prefix="lunadb-bench-sqlalchemy-")
    try:
        results = {"sqlalchemy_version": sqlalchemy.__version__, "sqlite_version": sqlite3.sqlite_version,
                   "rows": args.rows, "batch_size": BATCH_SIZE, "reads": args.reads, "read_limit": READ_LIMIT}
        if args.url:
            results["backend"] = args.url.split("+")[0].split(":")[0]
        for name, bench in (("orm", bench_orm), ("core", bench_core)):
            if args.url:
                engine = make_server_engine(args.url)
                with engine.connect():
                    pass  # the dialect learns the server version on the first connect
                results["server_version"] = ".".join(str(p) for p in engine.dialect.server_version_info or ())
            else:
                engine = make_engine(os.path.join(scratch, f"{name}.db"))
            try:
                (single, single_cpu), (batch, batch_cpu), latencies = bench(engine, contents, args.reads)
            finally:
                if args.url:
                    Base.metadata.drop_all(engine)
                engine.dispose()
            results.update({
                f"{name}_single_row_tx_rows_per_s": single,
                f"{name}_single_row_tx_rows_per_cpu_s": single_cpu,
                f"{name}_batch_rows_per_s": batch,
                f"{name}_batch_rows_per_cpu_s": batch_cpu,
                f"{name}_read_latest_p50_us": percentile(latencies, 0.50),
                f"{name}_read_latest_p99_us": percentile(latencies, 0.99),
            })
        if args.url and results["backend"].startswith("postgres"):
            engine = make_server_engine(args.url)
            try:
                batch, batch_cpu = bench_postgres_copy(engine, contents)
            finally:
                Base.metadata.drop_all(engine)
                engine.dispose()
            results.update({"psycopg2_copy_batch_rows_per_s": batch, "psycopg2_copy_batch_rows_per_cpu_s": batch_cpu})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"SQLAlchemy {results['sqlalchemy_version']} on SQLite {results['sqlite_version']}, {args.rows} rows")
    for name in ("orm", "core"):
        print(f"  {name:4}  one row/tx {results[f'{name}_single_row_tx_rows_per_s']:>10.0f} rows/s   "
              f"batches {results[f'{name}_batch_rows_per_s']:>10.0f} rows/s   "
              f"read p50 {results[f'{name}_read_latest_p50_us']:.1f} us, "
              f"p99 {results[f'{name}_read_latest_p99_us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
