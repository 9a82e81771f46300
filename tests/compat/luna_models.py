"""Luna's tables as Luna's ORM declares them, for the compatibility suite.

Written for lunadb from Luna's models (Sehastrajit/Luna, backend/models/database.py): the same table
and column names, SQLAlchemy types, nullability, Python-side defaults, foreign keys and index/unique
flags, so that SQLAlchemy behaves here exactly as it does inside Luna. The suite runs offline in CI,
so it uses this transcription rather than fetching Luna's file.
"""
from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base


def utcnow():
    return datetime.now(timezone.utc)  # what Luna passes: an aware datetime into a naive column


Base = declarative_base()


def pk():
    return Column(Integer, primary_key=True, index=True)


def conversation_ref(nullable=True):
    return Column(Integer, ForeignKey("conversations.id"), nullable=nullable)


class Conversation(Base):
    __tablename__ = "conversations"
    id = pk()
    title = Column(String, nullable=True)
    summary = Column(Text, nullable=True)
    started_at = Column(DateTime, default=utcnow)
    ended_at = Column(DateTime, nullable=True)
    message_count = Column(Integer, default=0)


class Message(Base):
    __tablename__ = "messages"
    id = pk()
    conversation_id = conversation_ref(nullable=False)
    role = Column(String, nullable=False)
    content = Column(Text, nullable=False)
    created_at = Column(DateTime, default=utcnow)
    sentiment_score = Column(Float, nullable=True)


class Fact(Base):
    __tablename__ = "facts"
    id = pk()
    category = Column(String, nullable=False)
    content = Column(Text, nullable=False)
    confidence = Column(Float, default=1.0)
    source_conversation_id = conversation_ref()
    created_at = Column(DateTime, default=utcnow)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)
    is_active = Column(Boolean, default=True)
    importance = Column(Float, default=0.5)
    expires_at = Column(DateTime, nullable=True)
    is_private = Column(Boolean, default=False)
    source = Column(String, default="inferred")
    superseded_by = Column(Integer, ForeignKey("facts.id"), nullable=True)
    memory_type = Column(String, default="long")


class FactRelationship(Base):
    __tablename__ = "fact_relationships"
    id = pk()
    fact_id_a = Column(Integer, ForeignKey("facts.id"), nullable=False)
    fact_id_b = Column(Integer, ForeignKey("facts.id"), nullable=False)
    relationship = Column(String, nullable=False)
    confidence = Column(Float, default=0.8)
    note = Column(Text, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    id = pk()
    title = Column(String, nullable=False)
    description = Column(Text, nullable=True)
    due_date = Column(DateTime, nullable=True)
    completed = Column(Boolean, default=False)
    completed_at = Column(DateTime, nullable=True)
    priority = Column(String, default="medium")
    created_at = Column(DateTime, default=utcnow)


class CalendarEvent(Base):
    __tablename__ = "calendar_events"
    id = pk()
    title = Column(String, nullable=False)
    description = Column(Text, nullable=True)
    start_datetime = Column(DateTime, nullable=False)
    end_datetime = Column(DateTime, nullable=True)
    recurring = Column(String, nullable=True)
    location = Column(String, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class PersonalityState(Base):
    __tablename__ = "personality_state"
    id = Column(Integer, primary_key=True, default=1)
    verbosity = Column(Float, default=0.5)
    formality = Column(Float, default=0.35)
    humor = Column(Float, default=0.6)
    depth = Column(Float, default=0.55)
    emotional_support = Column(Float, default=0.7)
    question_frequency = Column(Float, default=0.5)
    current_mood = Column(String, default="neutral")
    mood_intensity = Column(Float, default=0.5)
    energy_level = Column(Float, default=1.0)
    total_interactions = Column(Integer, default=0)
    positive_signals = Column(Integer, default=0)
    negative_signals = Column(Integer, default=0)
    last_interaction = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)


class FeedbackLog(Base):
    __tablename__ = "feedback_log"
    id = pk()
    conversation_id = conversation_ref()
    reward_signal = Column(Float, nullable=False)
    response_features = Column(JSON, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class ProactiveLog(Base):
    __tablename__ = "proactive_log"
    id = pk()
    message = Column(Text, nullable=False)
    reason = Column(String, nullable=True)
    sent_at = Column(DateTime, default=utcnow)


class StateEvent(Base):
    __tablename__ = "state_events"
    id = pk()
    timestamp = Column(DateTime, default=utcnow, index=True)
    hour = Column(Integer, nullable=False)
    day_of_week = Column(Integer, nullable=False)
    transcript = Column(Text, nullable=True)
    emotion = Column(String, nullable=True)
    volume = Column(Float, nullable=True)
    speech_speed = Column(Float, nullable=True)
    speech_duration = Column(Float, nullable=True)
    pc_active = Column(Boolean, nullable=True)
    active_app = Column(String, nullable=True)
    idle_seconds = Column(Integer, nullable=True)
    inferred_state = Column(String, nullable=False)


class SleepLog(Base):
    __tablename__ = "sleep_logs"
    id = pk()
    sleep_start = Column(DateTime, nullable=False)
    sleep_end = Column(DateTime, nullable=True)
    duration_minutes = Column(Float, nullable=True)
    label = Column(String, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class Trace(Base):
    __tablename__ = "traces"
    id = pk()
    span_id = Column(String, unique=True, nullable=False, index=True)
    parent_id = Column(String, nullable=True)
    name = Column(String, nullable=False)
    conversation_id = conversation_ref()
    start_time = Column(Float, nullable=False)
    end_time = Column(Float, nullable=True)
    latency_ms = Column(Float, nullable=True)
    status = Column(String, default="ok")
    attributes = Column(Text, nullable=True)
    cost_usd = Column(Float, default=0.0)
    created_at = Column(DateTime, default=utcnow)


class Episode(Base):
    __tablename__ = "episodes"
    id = pk()
    conversation_id = Column(Integer, ForeignKey("conversations.id"), unique=True, nullable=False, index=True)
    summary = Column(Text, nullable=False)
    key_fact_ids = Column(Text, nullable=True)
    key_entities = Column(Text, nullable=True)
    importance = Column(Float, default=0.5)
    created_at = Column(DateTime, default=utcnow, index=True)


class BenchmarkResult(Base):
    __tablename__ = "benchmark_results"
    id = pk()
    suite = Column(String, nullable=False, index=True)
    timestamp = Column(Float, nullable=False)
    metrics = Column(Text, nullable=True)
    errors = Column(Text, nullable=True)
    duration_s = Column(Float, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class PlanRecord(Base):
    __tablename__ = "plan_records"
    id = pk()
    plan_id = Column(String, unique=True, nullable=False, index=True)
    goal = Column(Text, nullable=False)
    conversation_id = conversation_ref()
    status = Column(String, nullable=False)
    steps_json = Column(Text, nullable=True)
    critique_json = Column(Text, nullable=True)
    created_at = Column(Float, nullable=True)
    completed_at = Column(Float, nullable=True)


class HealthMetric(Base):
    __tablename__ = "health_metrics"
    id = pk()
    platform = Column(String, nullable=False, index=True)
    metric_type = Column(String, nullable=False, index=True)
    value = Column(Float, nullable=False)
    unit = Column(String, nullable=True)
    date_str = Column(String, nullable=False, index=True)
    timestamp = Column(DateTime, nullable=True)
    raw_json = Column(Text, nullable=True)
    created_at = Column(DateTime, default=utcnow)


class HealthSync(Base):
    __tablename__ = "health_syncs"
    id = pk()
    platform = Column(String, nullable=False, unique=True)
    last_sync_at = Column(DateTime, nullable=True)
    status = Column(String, default="never")
    metrics_synced = Column(Integer, default=0)
    error_message = Column(Text, nullable=True)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)
