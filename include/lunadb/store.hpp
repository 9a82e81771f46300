#pragma once
// The typed store: one plain record per table the assistant's memory uses (docs/schema.md: Luna's
// conversations, messages, facts, fact_relationships, episodes, personality_state, state_events,
// tasks, calendar_events, proactive_log, and lunadb's audit_log and contradiction_notes) and one
// repository per table with the operations Luna uses. The same store runs on every backend; all
// SQL goes through the backend's dialect. The rows it reads may have been written by Luna's own
// Python code, and the reverse.
//
// Records: `id` and the store-maintained columns (created_at, updated_at, message_count, and the
// "written at" timestamps ts / sent_at) are ignored on add() and update() and filled in from the
// database; every timestamp the store writes is the current UTC time in microseconds (naive UTC,
// as Luna's). Columns the store's records hold as plain values but that Luna's schema lets be NULL
// read as Luna's defaults (message_count 0, importance 0.5, ...), a NULL timestamp as the epoch
// and a NULL updated_at as the row's created_at / started_at. Enumerated text (roles, sources,
// relationships) is an open set, stored as written. JSON columns are JSON text, validated before
// anything is written.
//
// Errors: lunadb::Error / DatabaseError. Invalid UTF-8, malformed JSON or a non-finite number ->
// ErrorKind::invalid_argument naming the field ("messages.content"), and nothing is written;
// a unique or foreign key violation -> ErrorKind::constraint; an unknown id where the
// operation needs a row (adding a message to a missing conversation) -> ErrorKind::not_found.
// Lookups by id return std::nullopt, update()/remove() return false when the row does not exist.
//
// Thread-safety: a Store and its repositories are safe to use from many threads at once. Every
// call leases its own connection from the ConnectionSource and runs in its own transaction;
// operations that touch several rows or tables (a message and its conversation's counters, a
// deletion and its dependants) are atomic. Records are plain values.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/config.hpp"

namespace lunadb {

// UTC, microsecond precision. The same type as the driver's sql::Timestamp.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

namespace sql {
class ConnectionSource;
}

namespace store {

namespace detail {
struct StoreCore;
}

struct Conversation {
  std::int64_t id = 0;
  std::optional<std::string> title;
  std::optional<std::string> summary;
  std::optional<std::string> metadata;  // JSON
  Timestamp started_at{};               // set by the store on add()
  Timestamp updated_at{};               // last activity: bumped by every message insert/delete
  std::optional<Timestamp> ended_at;
  std::int64_t message_count = 0;       // maintained by the store
  bool operator==(const Conversation&) const = default;
};

struct Message {
  std::int64_t id = 0;
  std::int64_t conversation_id = 0;
  std::string role;  // user, assistant, system, tool
  std::string content;
  Timestamp created_at{};
  std::optional<double> sentiment_score;  // -1..1
  bool operator==(const Message&) const = default;
};

struct Fact {
  std::int64_t id = 0;
  std::string category;
  std::string content;
  std::string memory_type = "long";  // Luna writes short, long, persistent
  double importance = 0.5;           // 0 = trivial .. 1 = critical
  double confidence = 1.0;
  std::string source = "inferred";   // Luna writes explicit, inferred, observed, compaction, pattern_mining
  std::optional<std::int64_t> source_conversation_id;
  bool is_active = true;
  bool is_private = false;
  std::optional<std::int64_t> superseded_by;
  std::optional<Timestamp> expires_at;
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> last_accessed;
  bool operator==(const Fact&) const = default;
};

struct FactRelationship {
  std::int64_t id = 0;
  std::int64_t fact_id_a = 0;
  std::int64_t fact_id_b = 0;
  std::string relationship;  // an open set, in the writer's case: Luna writes contradicts, confirms, updates, ...
  double confidence = 0.8;
  std::optional<std::string> note;
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const FactRelationship&) const = default;
};

struct Episode {
  std::int64_t id = 0;
  std::int64_t conversation_id = 0;
  std::string summary;
  std::string key_fact_ids = "[]";  // JSON list of fact ids
  std::string key_entities = "[]";  // JSON list of strings
  double importance = 0.5;
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const Episode&) const = default;
};

// The single row (id 1) created by the first migration.
struct PersonalityState {
  std::string current_mood = "neutral";
  double mood_intensity = 0.5;
  double energy_level = 1.0;
  double verbosity = 0.5;
  double formality = 0.35;
  double humor = 0.6;
  double depth = 0.55;
  double emotional_support = 0.7;
  double question_frequency = 0.5;
  std::int64_t total_interactions = 0;
  std::int64_t positive_signals = 0;
  std::int64_t negative_signals = 0;
  std::optional<Timestamp> last_interaction;
  Timestamp updated_at{};
  bool operator==(const PersonalityState&) const = default;
};

struct StateEvent {
  std::int64_t id = 0;
  Timestamp timestamp{};  // when the state was observed: given by the caller
  int hour = 0;           // 0..23
  int day_of_week = 0;    // 0 = Monday .. 6
  std::optional<std::string> transcript;
  std::optional<std::string> emotion;
  std::optional<double> volume;
  std::optional<double> speech_speed;
  std::optional<double> speech_duration;
  std::optional<bool> pc_active;
  std::optional<std::string> active_app;
  std::optional<std::int64_t> idle_seconds;
  std::string inferred_state;  // SLEEPING, JUST_WOKE_UP, AWAY, ..., NORMAL
  bool operator==(const StateEvent&) const = default;
};

struct Task {
  std::int64_t id = 0;
  std::string title;
  std::optional<std::string> description;
  std::optional<Timestamp> due_date;
  std::string priority = "medium";  // low, medium, high
  bool completed = false;
  std::optional<Timestamp> completed_at;  // given by the caller, or set by complete()
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const Task&) const = default;
};

struct CalendarEvent {
  std::int64_t id = 0;
  std::string title;
  std::optional<std::string> description;
  Timestamp start_datetime{};
  std::optional<Timestamp> end_datetime;  // >= start_datetime
  std::optional<std::string> recurring;   // daily, weekly, monthly, yearly
  std::optional<std::string> location;
  Timestamp created_at{};
  bool operator==(const CalendarEvent&) const = default;
};

struct ProactiveMessage {
  std::int64_t id = 0;
  std::string message;
  std::optional<std::string> reason;  // upcoming_event, overdue_tasks, morning_greeting, ... (Luna allows none)
  Timestamp sent_at{};  // set by the store on add()
  bool operator==(const ProactiveMessage&) const = default;
};

struct AuditEntry {
  std::int64_t id = 0;
  Timestamp ts{};  // set by the store on append()
  std::optional<std::int64_t> conversation_id;
  std::string tool;
  std::optional<std::string> args;  // JSON
  std::optional<std::string> result;
  std::optional<std::string> mode;  // allow, confirm, block
  std::string status;               // ok, error, denied
  std::optional<std::int64_t> duration_ms;
  bool operator==(const AuditEntry&) const = default;
};

struct ContradictionNote {
  std::int64_t id = 0;
  std::int64_t new_fact_id = 0;
  std::int64_t old_fact_id = 0;
  std::optional<std::int64_t> conversation_id;
  std::string note;
  Timestamp created_at{};
  std::optional<Timestamp> consumed_at;
  bool operator==(const ContradictionNote&) const = default;
};

// limit/offset paging; limit nullopt means "all rows".
struct Page {
  std::optional<std::int64_t> limit;
  std::int64_t offset = 0;
};

class Store;

class ConversationRepository {
 public:
  Conversation add(const Conversation& conversation);
  std::optional<Conversation> get(std::int64_t id);
  // Writes title, summary, metadata and ended_at; bumps updated_at.
  bool update(const Conversation& conversation);
  // Deletes the conversation, its messages and its episode, and nulls the references to it from
  // facts.source_conversation_id, audit_log.conversation_id and contradiction_notes.conversation_id,
  // all in one transaction.
  bool remove(std::int64_t id);
  // By last activity: updated_at newest first (ties: newest id first).
  std::vector<Conversation> recent(Page page = {});

 private:
  friend class Store;
  explicit ConversationRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class MessageRepository {
 public:
  // Inserts the message and, in the same transaction, increments the conversation's
  // message_count and sets its updated_at. Unknown conversation -> Error(not_found).
  Message add(const Message& message);
  // Inserts all rows into one conversation in one transaction (multi-row INSERTs on SQLite, one
  // reused prepared statement elsewhere) and moves the counters once. Each row's conversation_id
  // and created_at are ignored: all rows get the same created_at (order within it: by id).
  // Returns the new ids in input order.
  std::vector<std::int64_t> add_many(std::int64_t conversation_id, std::span<const Message> messages);
  std::optional<Message> get(std::int64_t id);
  // Writes role, content and sentiment_score.
  bool update(const Message& message);
  // Deletes the message and decrements its conversation's message_count (bumping updated_at).
  bool remove(std::int64_t id);
  // Oldest first (created_at, then id).
  std::vector<Message> for_conversation(std::int64_t conversation_id, Page page = {});
  // Keyset paging, oldest first: the `limit` messages that follow `last_seen` (the last message
  // of the previous page; only its created_at and id are used, so it may since have been deleted).
  std::vector<Message> for_conversation_after(std::int64_t conversation_id, const Message& last_seen,
                                              std::int64_t limit);
  // The newest `limit` messages, returned oldest first (the context window).
  std::vector<Message> latest(std::int64_t conversation_id, std::int64_t limit);

 private:
  friend class Store;
  explicit MessageRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class FactRepository {
 public:
  Fact add(const Fact& fact);
  std::optional<Fact> get(std::int64_t id);
  // Writes every column except id, created_at and updated_at; bumps updated_at.
  bool update(const Fact& fact);
  // Deletes the fact, its relationships (both directions) and the contradiction notes naming it,
  // and nulls superseded_by where it points at the fact, in one transaction.
  bool remove(std::int64_t id);
  // Active facts of a category, most important first.
  std::vector<Fact> active_by_category(std::string_view category);
  // Active facts with expires_at <= now, soonest first.
  std::vector<Fact> due_to_expire(Timestamp now);
  // Sets last_accessed = now on every listed fact in one transaction; returns rows touched.
  std::int64_t touch(std::span<const std::int64_t> fact_ids);

 private:
  friend class Store;
  explicit FactRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class FactRelationshipRepository {
 public:
  // Creates the edge (fact_id_a -> fact_id_b) or, when it exists, updates its relationship,
  // confidence, note and updated_at. Returns the stored edge.
  FactRelationship link(const FactRelationship& edge);
  std::optional<FactRelationship> get(std::int64_t id);
  std::optional<FactRelationship> find(std::int64_t fact_id_a, std::int64_t fact_id_b);
  bool update(const FactRelationship& edge);  // relationship, confidence, note
  bool remove(std::int64_t id);
  // Edges where the fact is either end, oldest first.
  std::vector<FactRelationship> for_fact(std::int64_t fact_id);

 private:
  friend class Store;
  explicit FactRelationshipRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class EpisodeRepository {
 public:
  // Creates the conversation's episode or replaces its summary, key ids/entities and importance.
  Episode upsert(const Episode& episode);
  std::optional<Episode> get(std::int64_t id);
  std::optional<Episode> for_conversation(std::int64_t conversation_id);
  bool remove(std::int64_t id);
  // Most important first.
  std::vector<Episode> most_important(std::int64_t limit);

 private:
  friend class Store;
  explicit EpisodeRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class PersonalityRepository {
 public:
  // Row 1; Error(not_found) if the schema was not initialised.
  PersonalityState get();
  // Writes every column of row 1 and sets updated_at. Error(not_found) if the row is missing.
  PersonalityState update(const PersonalityState& state);

 private:
  friend class Store;
  explicit PersonalityRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class StateEventRepository {
 public:
  StateEvent add(const StateEvent& event);
  std::optional<StateEvent> get(std::int64_t id);
  bool update(const StateEvent& event);
  bool remove(std::int64_t id);
  // Every event recorded at that hour of day (0..23), oldest first.
  std::vector<StateEvent> by_hour(int hour);
  // Events with timestamp in [from, to), oldest first.
  std::vector<StateEvent> between(Timestamp from, Timestamp to);

 private:
  friend class Store;
  explicit StateEventRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class TaskRepository {
 public:
  Task add(const Task& task);
  std::optional<Task> get(std::int64_t id);
  bool update(const Task& task);
  bool remove(std::int64_t id);
  // Marks the task completed with completed_at = now.
  bool complete(std::int64_t id);
  // Not completed and due_date < now, most overdue first.
  std::vector<Task> incomplete_past_due(Timestamp now);

 private:
  friend class Store;
  explicit TaskRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class CalendarEventRepository {
 public:
  CalendarEvent add(const CalendarEvent& event);
  std::optional<CalendarEvent> get(std::int64_t id);
  bool update(const CalendarEvent& event);
  bool remove(std::int64_t id);
  // Events with start_datetime in [from, to), earliest first.
  std::vector<CalendarEvent> starting_between(Timestamp from, Timestamp to);

 private:
  friend class Store;
  explicit CalendarEventRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class ProactiveLogRepository {
 public:
  ProactiveMessage add(const ProactiveMessage& message);
  std::optional<ProactiveMessage> get(std::int64_t id);
  bool update(const ProactiveMessage& message);  // message and reason
  bool remove(std::int64_t id);
  // The most recently sent message with this reason (throttling).
  std::optional<ProactiveMessage> last_for_reason(std::string_view reason);

 private:
  friend class Store;
  explicit ProactiveLogRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

// Append-only: there is no update or delete.
class AuditLogRepository {
 public:
  AuditEntry append(const AuditEntry& entry);
  std::optional<AuditEntry> get(std::int64_t id);
  // Newest first.
  std::vector<AuditEntry> recent(Page page = {});
  // Oldest first.
  std::vector<AuditEntry> for_conversation(std::int64_t conversation_id);

 private:
  friend class Store;
  explicit AuditLogRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class ContradictionNoteRepository {
 public:
  ContradictionNote add(const ContradictionNote& note);
  std::optional<ContradictionNote> get(std::int64_t id);
  bool update(const ContradictionNote& note);  // note, conversation_id, consumed_at
  bool remove(std::int64_t id);
  // Notes not yet shown to the assistant, oldest first.
  std::vector<ContradictionNote> unconsumed();
  // Sets consumed_at = now on the listed notes that are still unconsumed; returns how many.
  std::int64_t mark_consumed(std::span<const std::int64_t> note_ids);

 private:
  friend class Store;
  explicit ContradictionNoteRepository(detail::StoreCore& core) : core_(&core) {}
  detail::StoreCore* core_;
};

class Store {
 public:
  // Opens the configured database (DB_URL / DB_PATH) with its own connection source.
  static Store open(const Settings& settings);
  // Uses a connection source owned by the caller, which must outlive the Store.
  explicit Store(sql::ConnectionSource& source);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  Backend backend() const;
  sql::ConnectionSource& connection_source();

  ConversationRepository& conversations() { return *conversations_; }
  MessageRepository& messages() { return *messages_; }
  FactRepository& facts() { return *facts_; }
  FactRelationshipRepository& fact_relationships() { return *fact_relationships_; }
  EpisodeRepository& episodes() { return *episodes_; }
  PersonalityRepository& personality() { return *personality_; }
  StateEventRepository& state_events() { return *state_events_; }
  TaskRepository& tasks() { return *tasks_; }
  CalendarEventRepository& calendar_events() { return *calendar_events_; }
  ProactiveLogRepository& proactive_log() { return *proactive_log_; }
  AuditLogRepository& audit_log() { return *audit_log_; }
  ContradictionNoteRepository& contradiction_notes() { return *contradiction_notes_; }

 private:
  explicit Store(std::unique_ptr<detail::StoreCore> core);
  void wire_repositories();

  std::unique_ptr<detail::StoreCore> core_;
  std::unique_ptr<ConversationRepository> conversations_;
  std::unique_ptr<MessageRepository> messages_;
  std::unique_ptr<FactRepository> facts_;
  std::unique_ptr<FactRelationshipRepository> fact_relationships_;
  std::unique_ptr<EpisodeRepository> episodes_;
  std::unique_ptr<PersonalityRepository> personality_;
  std::unique_ptr<StateEventRepository> state_events_;
  std::unique_ptr<TaskRepository> tasks_;
  std::unique_ptr<CalendarEventRepository> calendar_events_;
  std::unique_ptr<ProactiveLogRepository> proactive_log_;
  std::unique_ptr<AuditLogRepository> audit_log_;
  std::unique_ptr<ContradictionNoteRepository> contradiction_notes_;
};

}  // namespace store
}  // namespace lunadb
