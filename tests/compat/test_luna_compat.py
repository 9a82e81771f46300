"""Luna's own Python (SQLAlchemy 2.0 ORM with Luna's models) against databases lunadb makes, and
lunadb against databases Luna makes: every table, the values Luna's code writes, naive datetimes,
JSON read back as text."""
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import CompileError
from sqlalchemy.orm import Session

import luna_models as m

HERE = os.path.dirname(os.path.abspath(__file__))
LUNA_TABLES = sorted(m.Base.metadata.tables)


def fill_like_luna(session):
    """One or more rows in every table, with the values Luna's code writes."""
    conversation = m.Conversation(title="Morning chat ☕ 早上好 مرحبا")
    session.add(conversation)
    session.flush()
    session.add_all([
        m.Message(conversation_id=conversation.id, role="user", content="I switched to green tea 🍵", sentiment_score=0.4),
        m.Message(conversation_id=conversation.id, role="assistant", content="Noted! " + "x" * 70000),
    ])
    old = m.Fact(category="preference", content="User drinks coffee", source_conversation_id=conversation.id)
    new = m.Fact(category="preference", content="User drinks green tea", source="explicit", importance=0.8)
    mined = m.Fact(category="routine", content="Runs on Sundays", source="pattern_mining", memory_type="long")
    compacted = m.Fact(category="context", content="Summary fact", source="compaction", memory_type="short",
                       expires_at=datetime.utcnow() + timedelta(days=1))
    session.add_all([old, new, mined, compacted])
    session.flush()
    old.is_active = False
    old.superseded_by = new.id
    session.add_all([
        m.FactRelationship(fact_id_a=new.id, fact_id_b=old.id, relationship="contradicts", note="tea replaces coffee"),
        m.FactRelationship(fact_id_a=mined.id, fact_id_b=new.id, relationship="related_to", confidence=0.6),
        m.Task(title="Buy tea", due_date=datetime.utcnow() - timedelta(hours=1), priority="high"),
        m.CalendarEvent(title="Dentist", start_datetime=datetime.utcnow() + timedelta(minutes=30), recurring="yearly"),
        m.FeedbackLog(conversation_id=conversation.id, reward_signal=0.7, response_features={"humor": 0.2, "depth": [1, 2]}),
        m.ProactiveLog(message="Good morning!", reason="morning_greeting"),
        m.ProactiveLog(message="Checking in", reason=None),
        m.ProactiveLog(message="Commitment?", reason="commitment_followup"),
        m.StateEvent(hour=7, day_of_week=0, inferred_state="JUST_WOKE_UP", idle_seconds=42, pc_active=True,
                     emotion="calm", volume=0.3),
        m.SleepLog(sleep_start=datetime.utcnow() - timedelta(hours=8), label="bedtime"),
        m.Trace(span_id="span-1", name="llm_call", conversation_id=conversation.id, start_time=12.5,
                attributes=json.dumps({"model": "qwen"})),
        m.Episode(conversation_id=conversation.id, summary="Talked about tea",
                  key_fact_ids=json.dumps([new.id, old.id]), key_entities=json.dumps(["tea", "茶"])),
        m.BenchmarkResult(suite="memory", timestamp=1.5, metrics=json.dumps({"recall": 0.9})),
        m.PlanRecord(plan_id="plan-1", goal="Plan a trip", conversation_id=conversation.id, status="planning",
                     steps_json=json.dumps([{"step": 1}]), created_at=3.25),
        m.HealthMetric(platform="fitbit", metric_type="steps", value=10234, unit="steps", date_str="2026-12-06"),
        m.HealthSync(platform="fitbit", status="ok", metrics_synced=1),
    ])
    if session.get(m.PersonalityState, 1) is None:  # Luna's init_db()
        session.add(m.PersonalityState(id=1))
    session.commit()


def snapshot(engine):
    """Every row of Luna's tables, by id, as plain values."""
    out = {}
    with engine.connect() as connection:
        for table in m.Base.metadata.sorted_tables:
            columns = ", ".join(c.name for c in table.columns)
            rows = connection.execute(text(f"SELECT {columns} FROM {table.name} ORDER BY id")).all()
            out[table.name] = [tuple(row) for row in rows]
    return out


def read_like_luna(session):
    facts = session.query(m.Fact).order_by(m.Fact.id).all()
    assert [f.source for f in facts] == ["inferred", "explicit", "pattern_mining", "compaction"]
    assert facts[0].is_active is False and facts[0].superseded_by == facts[1].id
    # Luna's fact ageing and reminders subtract naive datetimes.
    age = datetime.utcnow() - facts[1].created_at
    assert timedelta(0) <= age < timedelta(hours=1)
    assert facts[1].created_at.tzinfo is None
    upcoming = session.query(m.CalendarEvent).filter(m.CalendarEvent.start_datetime <= datetime.utcnow() + timedelta(hours=1)).all()
    assert [e.title for e in upcoming] == ["Dentist"]
    relationships = session.query(m.FactRelationship).order_by(m.FactRelationship.id).all()
    assert [r.relationship for r in relationships] == ["contradicts", "related_to"]
    episode = session.query(m.Episode).one()
    assert json.loads(episode.key_fact_ids) == [facts[1].id, facts[0].id]
    assert json.loads(episode.key_entities) == ["tea", "茶"]
    assert session.query(m.FeedbackLog).one().response_features == {"humor": 0.2, "depth": [1, 2]}
    reasons = [p.reason for p in session.query(m.ProactiveLog).order_by(m.ProactiveLog.id)]
    assert reasons == ["morning_greeting", None, "commitment_followup"]
    messages = session.query(m.Message).order_by(m.Message.id).all()
    assert messages[0].content == "I switched to green tea 🍵" and len(messages[1].content) == 70007
    assert session.query(m.Conversation).one().title == "Morning chat ☕ 早上好 مرحبا"
    assert session.query(m.StateEvent).one().idle_seconds == 42
    assert session.get(m.PersonalityState, 1).current_mood == "neutral"


def test_lunas_orm_works_on_a_database_lunadb_created(database):
    database.lunadb("upgrade", "head")
    engine = create_engine(database.sqlalchemy_url)
    before = set(inspect(engine).get_table_names())
    assert set(LUNA_TABLES) <= before
    m.Base.metadata.create_all(engine)  # Luna's start-up: must find everything there
    assert set(inspect(create_engine(database.sqlalchemy_url)).get_table_names()) == before
    with Session(engine) as session:
        fill_like_luna(session)
    with Session(engine) as session:
        read_like_luna(session)
        # Luna updates and deletes through its ORM too.
        fact = session.query(m.Fact).filter_by(source="pattern_mining").one()
        fact.importance = 0.9
        session.delete(session.query(m.SleepLog).one())
        session.commit()
    status = database.lunadb("status")
    assert f"revision   {database.head()} (head)" in status
    assert "  facts                  4" in status and "  proactive_log          3" in status
    engine.dispose()


def test_lunas_alembic_accepts_a_database_lunadb_brought_to_001(database):
    database.lunadb("upgrade", "001")
    env = dict(os.environ, LUNA_COMPAT_URL=database.sqlalchemy_url)
    done = subprocess.run(["alembic", "-c", os.path.join(HERE, "alembic.ini"), "current"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "001 (head)" in done.stdout, done.stdout + done.stderr
    # And lunadb continues from Luna's revision, keeping the rows Luna wrote meanwhile.
    engine = create_engine(database.sqlalchemy_url)
    with Session(engine) as session:
        fill_like_luna(session)
    rows = snapshot(engine)
    database.lunadb("upgrade", "head")
    assert snapshot(engine) == rows
    engine.dispose()


def test_a_database_lunas_create_all_made_is_adopted_keeping_every_row(database):
    engine = create_engine(database.sqlalchemy_url)
    if database.backend == "mysql":
        # Luna's String columns have no length, which SQLAlchemy cannot render for MySQL: Luna's own
        # create_all never ran there, so there is no such database to adopt.
        with pytest.raises(CompileError, match="VARCHAR requires a length"):
            m.Base.metadata.create_all(engine)
        return
    m.Base.metadata.create_all(engine)
    with Session(engine) as session:
        fill_like_luna(session)
    rows = snapshot(engine)
    report = database.lunadb("adopt", "--dry-run")
    assert "it matches revision 6f1c2a9e0b31" in report
    upgraded = database.lunadb("upgrade", "head")
    assert "Adopting a database made by Luna's create_all(): it matches revision 6f1c2a9e0b31" in upgraded
    assert snapshot(engine) == rows
    with Session(engine) as session:
        read_like_luna(session)
    assert f"{database.head()} (head)" in database.lunadb("current")
    engine.dispose()
