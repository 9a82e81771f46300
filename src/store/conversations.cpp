// Conversations and their messages: message_count and updated_at change in the same transaction
// as the message rows they describe.
#include <algorithm>
#include <limits>

#include "store/core.hpp"

namespace lunadb::store {

using detail::opt;
using detail::Values;

namespace {

Conversation read_conversation(const sql::Statement& row) {
  Conversation c;
  c.id = row.get_int64(0);
  c.title = row.get_optional_text(1);
  c.summary = row.get_optional_text(2);
  c.metadata = row.get_optional_text(3);
  c.started_at = row.get_optional_timestamp(4).value_or(Timestamp{});
  // A conversation Luna wrote has no updated_at: its last activity is then its start.
  c.updated_at = row.get_optional_timestamp(5).value_or(c.started_at);
  c.ended_at = row.get_optional_timestamp(6);
  c.message_count = row.get_optional_int64(7).value_or(0);
  return c;
}

Message read_message(const sql::Statement& row) {
  Message m;
  m.id = row.get_int64(0);
  m.conversation_id = row.get_int64(1);
  m.role = row.get_text(2);
  m.content = row.get_text(3);
  m.created_at = row.get_optional_timestamp(4).value_or(Timestamp{});
  m.sentiment_score = row.get_optional_double(5);
  return m;
}

void validate(const Conversation& c) {
  detail::check_utf8("conversations.title", c.title);
  detail::check_utf8("conversations.summary", c.summary);
  detail::check_json("conversations.metadata", c.metadata);
}

void validate(const Message& m) {
  detail::check_utf8("messages.role", m.role);
  detail::check_utf8("messages.content", m.content);
  detail::check_finite("messages.sentiment_score", m.sentiment_score);
}

// Moves the conversation's counters by `delta` messages and marks it active now. Throws
// not_found when the conversation does not exist.
void bump_conversation(sql::Connection& connection, const detail::TableSql& conversations, std::int64_t conversation_id,
                       std::int64_t delta, Timestamp now) {
  // COALESCE: Luna's schema lets message_count be NULL.
  const std::string sql = "UPDATE " + conversations.name + " SET " + conversations.q("message_count") + " = COALESCE(" +
                          conversations.q("message_count") + ", 0) + ?, " + conversations.q("updated_at") + " = ? WHERE " +
                          conversations.q("id") + " = ?";
  Values values{delta, now, conversation_id};
  if (detail::execute(connection, sql, values) == 0) {
    throw Error(ErrorKind::not_found, "conversation " + std::to_string(conversation_id) + " does not exist");
  }
}

std::string conversation_messages_sql(const detail::TableSql& t, bool newest_first) {
  const char* direction = newest_first ? " DESC" : "";
  return t.select + " WHERE " + t.q("conversation_id") + " = ? ORDER BY " + t.q("created_at") + direction + ", " +
         t.q("id") + direction;
}

// PostgreSQL: the conversation's counter update and the insert as one statement (a
// data-modifying WITH). Run in autocommit it is its own transaction, so a one-row write costs one
// round trip plus the commit's WAL flush instead of four round trips (BEGIN, UPDATE, INSERT,
// COMMIT). No row comes back when the conversation does not exist, and then nothing was written.
// Parameters: created_at, conversation_id, role, content, created_at, sentiment_score.
std::string add_message_one_statement_sql(const detail::Tables& t) {
  const auto& c = t.conversations;
  const auto& m = t.messages;
  return "WITH bumped AS (UPDATE " + c.name + " SET " + c.q("message_count") + " = COALESCE(" + c.q("message_count") +
         ", 0) + 1, " + c.q("updated_at") + " = ? WHERE " + c.q("id") + " = ? RETURNING " +
         c.q("id") + ") INSERT INTO " + m.name + " (" + m.q("conversation_id") + ", " + m.q("role") + ", " +
         m.q("content") + ", " + m.q("created_at") + ", " + m.q("sentiment_score") + ") SELECT " + c.q("id") +
         ", ?, ?, ?, CAST(? AS DOUBLE PRECISION) FROM bumped "
         "RETURNING " + m.q("id");
}

}  // namespace

// ---- conversations ----

Conversation ConversationRepository::add(const Conversation& conversation) {
  validate(conversation);
  Conversation stored = conversation;
  stored.started_at = stored.updated_at = sql::now_utc();
  stored.message_count = 0;
  Values values{opt(stored.title),       opt(stored.summary),  opt(stored.metadata),
                stored.started_at,       stored.updated_at,    opt(stored.ended_at),
                std::int64_t{0}};
  const auto& t = core_->tables.conversations;
  stored.id = core_->write([&](sql::Connection& c) { return detail::insert_returning_id(c, t, values); });
  return stored;
}

std::optional<Conversation> ConversationRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<Conversation>(c, core_->tables.conversations.select_by_id, values, read_conversation);
  });
}

bool ConversationRepository::update(const Conversation& conversation) {
  validate(conversation);
  Values values{opt(conversation.title), opt(conversation.summary), opt(conversation.metadata),
                opt(conversation.ended_at), sql::now_utc(), conversation.id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.conversations.update_by_id, values) > 0;
  });
}

bool ConversationRepository::remove(std::int64_t id) {
  const auto& tables = core_->tables;
  auto where_conversation = [](const detail::TableSql& t, std::string_view column) {
    return " WHERE " + t.q(column) + " = ?";
  };
  auto null_out = [&](const detail::TableSql& t, std::string_view column) {
    return "UPDATE " + t.name + " SET " + t.q(column) + " = NULL" + where_conversation(t, column);
  };
  // Dependants first: Luna's foreign keys have no ON DELETE action (its ORM deletes messages
  // itself), so the store does what a cascade would, in the same transaction. The rows of Luna's
  // own tables that the store has no records for (feedback, traces, plans) keep their data and
  // lose the reference, as facts do.
  const auto& d = *core_->dialect;
  auto null_out_luna = [&](std::string_view table) {
    return "UPDATE " + d.quote(table) + " SET " + d.quote("conversation_id") + " = NULL WHERE " +
           d.quote("conversation_id") + " = ?";
  };
  const std::string statements[] = {
      "DELETE FROM " + tables.messages.name + where_conversation(tables.messages, "conversation_id"),
      "DELETE FROM " + tables.episodes.name + where_conversation(tables.episodes, "conversation_id"),
      null_out(tables.facts, "source_conversation_id"),
      null_out(tables.audit_log, "conversation_id"),
      null_out(tables.contradiction_notes, "conversation_id"),
      null_out_luna("feedback_log"),
      null_out_luna("traces"),
      null_out_luna("plan_records"),
  };
  Values values{id};
  return core_->write([&](sql::Connection& c) {
    for (const auto& sql : statements) detail::execute(c, sql, values);
    return detail::execute(c, tables.conversations.delete_by_id, values) > 0;
  });
}

std::vector<Conversation> ConversationRepository::recent(Page page) {
  const auto& t = core_->tables.conversations;
  const std::string sql = core_->dialect->paginate(
      t.select + " ORDER BY COALESCE(" + t.q("updated_at") + ", " + t.q("started_at") + ") DESC, " + t.q("id") + " DESC",
      page.limit, page.offset);
  return core_->read([&](sql::Connection& c) { return detail::query_all<Conversation>(c, sql, {}, read_conversation); });
}

// ---- messages ----

Message MessageRepository::add(const Message& message) {
  validate(message);
  Message stored = message;
  stored.created_at = sql::now_utc();
  Values values{stored.conversation_id, stored.role, stored.content, stored.created_at, opt(stored.sentiment_score)};
  if (core_->dialect->backend() == Backend::postgresql) {
    stored.id = core_->write_one_statement([&](sql::Connection& c) {
      // Built once: the text depends only on the PostgreSQL dialect, which is the same for every store.
      static const std::string sql = add_message_one_statement_sql(core_->tables);
      auto statement = c.prepare(sql);
      const Values one_statement_values{stored.created_at, stored.conversation_id, stored.role,
                                        stored.content,    stored.created_at,      opt(stored.sentiment_score)};
      statement->bind_all(one_statement_values);
      if (!statement->step()) {
        throw Error(ErrorKind::not_found, "conversation " + std::to_string(stored.conversation_id) + " does not exist");
      }
      const auto id = statement->get_int64(0);
      statement->reset();
      return id;
    });
    return stored;
  }
  stored.id = core_->write([&](sql::Connection& c) {
    bump_conversation(c, core_->tables.conversations, stored.conversation_id, 1, stored.created_at);
    return detail::insert_returning_id(c, core_->tables.messages, values);
  });
  return stored;
}

namespace {

constexpr std::size_t kRowsPerInsert = 100;  // 500 parameters: under every backend's limit

void bind_message(sql::Statement& insert, int first_parameter, const sql::Value& conversation,
                  const sql::Value& created_at, const Message& message) {
  insert.bind(first_parameter, conversation);
  insert.bind(first_parameter + 1, sql::Value{message.role});
  insert.bind(first_parameter + 2, sql::Value{message.content});
  insert.bind(first_parameter + 3, created_at);
  insert.bind(first_parameter + 4, opt(message.sentiment_score));
}

const std::vector<std::string>& message_insert_columns() {
  static const std::vector<std::string> columns{"conversation_id", "role", "content", "created_at", "sentiment_score"};
  return columns;
}

// Runs `insert_chunk(statement, first, rows)` for every chunk of at most kRowsPerInsert messages,
// reusing one prepared statement for the full-size chunks.
template <typename Chunk>
void for_each_chunk(sql::Connection& c, const sql::Dialect& dialect, std::span<const Message> messages,
                    const std::string& suffix, Chunk&& insert_chunk) {
  std::unique_ptr<sql::Statement> full;
  const std::size_t chunk = kRowsPerInsert;
  for (std::size_t start = 0; start < messages.size(); start += chunk) {
    const auto rows = std::min(chunk, messages.size() - start);
    std::unique_ptr<sql::Statement> tail;
    sql::Statement* insert = nullptr;
    if (rows == chunk) {
      if (!full) full = c.prepare(dialect.insert_many("messages", message_insert_columns(), chunk) + suffix);
      insert = full.get();
    } else {
      tail = c.prepare(dialect.insert_many("messages", message_insert_columns(), rows) + suffix);
      insert = tail.get();
    }
    insert_chunk(*insert, start, rows);
  }
}

void bind_chunk(sql::Statement& insert, std::span<const Message> messages, std::size_t start, std::size_t rows,
                const sql::Value& conversation, const sql::Value& created_at) {
  for (std::size_t r = 0; r < rows; ++r) {
    bind_message(insert, static_cast<int>(r * 5 + 1), conversation, created_at, messages[start + r]);
  }
}

// SQLite: multi-row INSERTs (about half the cost per row of one statement per row). SQLite gives
// a new row max(rowid) + 1 unless max(rowid) is the largest 64-bit integer, and BEGIN IMMEDIATE
// keeps every other writer out, so the ids of the batch are the consecutive run after the max.
std::vector<std::int64_t> insert_consecutive(sql::Connection& c, const detail::TableSql& t,
                                             const sql::Dialect& dialect, std::int64_t conversation_id,
                                             Timestamp now, std::span<const Message> messages) {
  std::int64_t max_id = 0;
  {
    auto statement = c.prepare("SELECT MAX(" + t.q("id") + ") FROM " + t.name);
    if (statement->step() && !statement->is_null(0)) max_id = statement->get_int64(0);
  }
  const auto count = static_cast<std::int64_t>(messages.size());
  if (max_id > std::numeric_limits<std::int64_t>::max() - count) {
    throw Error(ErrorKind::internal, "messages.id is exhausted: no room for " + std::to_string(count) + " more rows");
  }
  const sql::Value conversation{conversation_id};
  const sql::Value created_at{now};
  for_each_chunk(c, dialect, messages, "", [&](sql::Statement& insert, std::size_t start, std::size_t rows) {
    bind_chunk(insert, messages, start, rows, conversation, created_at);
    insert.execute();
    insert.reset();
  });
  if (c.last_insert_id() != max_id + count) {
    throw Error(ErrorKind::internal, "messages.add_many: the new ids are not consecutive");
  }
  std::vector<std::int64_t> ids(messages.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = max_id + 1 + static_cast<std::int64_t>(i);
  return ids;
}


// PostgreSQL: the ids come from the column's identity sequence in one query, then the rows go in
// with one COPY, ids included (the column is GENERATED BY DEFAULT, so explicit ids are accepted).
// COPY parses no SQL per row: about three times the rows per second of multi-row INSERTs.
std::vector<std::int64_t> copy_messages(sql::Connection& c, std::int64_t conversation_id, Timestamp now,
                                        std::span<const Message> messages) {
  std::vector<std::int64_t> ids;
  ids.reserve(messages.size());
  {
    // The sequence's name goes into the reserving query as a constant: nextval() of a name the
    // planner cannot fold looks the sequence up again for every row (about 8x slower).
    std::string sequence;
    auto name = c.prepare("SELECT pg_get_serial_sequence(?, ?)");
    name->bind_all(Values{std::string("messages"), std::string("id")});
    if (name->step() && !name->is_null(0)) sequence = name->get_text(0);
    if (sequence.empty()) throw Error(ErrorKind::internal, "messages.id has no identity sequence");
    auto reserve = c.prepare("SELECT nextval(" + c.dialect().literal(sql::Value{sequence}) +
                             "::regclass) FROM generate_series(1, ?)");
    reserve->bind(1, sql::Value{static_cast<std::int64_t>(messages.size())});
    while (reserve->step()) ids.push_back(reserve->get_int64(0));
  }
  if (ids.size() != messages.size()) {
    throw Error(ErrorKind::internal, "messages.add_many: reserved " + std::to_string(ids.size()) + " ids for " +
                                         std::to_string(messages.size()) + " rows");
  }
  std::sort(ids.begin(), ids.end());
  static const std::vector<std::string> columns{"id", "conversation_id", "role", "content", "created_at",
                                                "sentiment_score"};
  std::vector<sql::Value> values;
  values.reserve(messages.size() * columns.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    values.emplace_back(ids[i]);
    values.emplace_back(conversation_id);
    values.emplace_back(messages[i].role);
    values.emplace_back(messages[i].content);
    values.emplace_back(now);
    values.push_back(opt(messages[i].sentiment_score));
  }
  if (!c.copy_rows("messages", columns, values)) {
    throw Error(ErrorKind::internal, "messages.add_many: the PostgreSQL connection offers no COPY");
  }
  return ids;
}

// MySQL/MariaDB: multi-row INSERTs, when the server promises consecutive ids for them. With
// innodb_autoinc_lock_mode 0 or 1 a multi-row INSERT with a known row count gets one consecutive
// block, and LAST_INSERT_ID() is its first id; mode 2 ("interleaved") and an
// auto_increment_increment other than 1 (Galera, multi-primary setups) make no such promise.
bool mysql_ids_are_consecutive(sql::Connection& c) {
  auto statement = c.prepare("SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment");
  if (!statement->step()) return false;
  return !statement->is_null(0) && statement->get_int64(0) <= 1 && statement->get_int64(1) == 1;
}

std::vector<std::int64_t> insert_mysql_block(sql::Connection& c, const sql::Dialect& dialect,
                                             std::int64_t conversation_id, Timestamp now,
                                             std::span<const Message> messages) {
  const sql::Value conversation{conversation_id};
  const sql::Value created_at{now};
  std::vector<std::int64_t> ids;
  ids.reserve(messages.size());
  for_each_chunk(c, dialect, messages, "", [&](sql::Statement& insert, std::size_t start, std::size_t rows) {
    bind_chunk(insert, messages, start, rows, conversation, created_at);
    insert.execute();
    insert.reset();
    const std::int64_t first = c.last_insert_id();
    for (std::size_t r = 0; r < rows; ++r) ids.push_back(first + static_cast<std::int64_t>(r));
  });
  return ids;
}

}  // namespace

std::vector<std::int64_t> MessageRepository::add_many(std::int64_t conversation_id, std::span<const Message> messages) {
  if (messages.empty()) return {};
  for (const auto& message : messages) validate(message);
  const Timestamp now = sql::now_utc();
  const auto& t = core_->tables.messages;
  return core_->write([&](sql::Connection& c) {
    bump_conversation(c, core_->tables.conversations, conversation_id, static_cast<std::int64_t>(messages.size()), now);
    if (c.backend() == Backend::sqlite) return insert_consecutive(c, t, *core_->dialect, conversation_id, now, messages);
    if (c.backend() == Backend::postgresql) {
      return copy_messages(c, conversation_id, now, messages);
    }
    if (c.backend() == Backend::mysql && mysql_ids_are_consecutive(c)) {
      return insert_mysql_block(c, *core_->dialect, conversation_id, now, messages);
    }
    // Elsewhere (SQL Server: OUTPUT INSERTED of a multi-row INSERT comes in no defined order) one
    // prepared statement per row, each reporting its own id.
    auto insert = c.prepare(t.insert);
    const sql::Value conversation{conversation_id};
    const sql::Value created_at{now};
    std::vector<std::int64_t> ids;
    ids.reserve(messages.size());
    for (const auto& message : messages) {
      bind_message(*insert, 1, conversation, created_at, message);
      ids.push_back(detail::run_insert(c, t, *insert));
    }
    return ids;
  });
}

std::optional<Message> MessageRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<Message>(c, core_->tables.messages.select_by_id, values, read_message);
  });
}

bool MessageRepository::update(const Message& message) {
  validate(message);
  Values values{message.role, message.content, opt(message.sentiment_score), message.id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.messages.update_by_id, values) > 0;
  });
}

bool MessageRepository::remove(std::int64_t id) {
  const auto& t = core_->tables.messages;
  const std::string find_conversation = "SELECT " + t.q("conversation_id") + " FROM " + t.name + " WHERE " + t.q("id") + " = ?";
  Values values{id};
  return core_->write([&](sql::Connection& c) {
    std::optional<std::int64_t> conversation_id;
    {
      auto statement = c.prepare(find_conversation);
      statement->bind_all(values);
      if (statement->step()) conversation_id = statement->get_int64(0);
    }
    if (!conversation_id) return false;
    detail::execute(c, t.delete_by_id, values);
    bump_conversation(c, core_->tables.conversations, *conversation_id, -1, sql::now_utc());
    return true;
  });
}

std::vector<Message> MessageRepository::for_conversation(std::int64_t conversation_id, Page page) {
  const std::string sql =
      core_->dialect->paginate(conversation_messages_sql(core_->tables.messages, false), page.limit, page.offset);
  Values values{conversation_id};
  return core_->read([&](sql::Connection& c) { return detail::query_all<Message>(c, sql, values, read_message); });
}

std::vector<Message> MessageRepository::for_conversation_after(std::int64_t conversation_id, const Message& last_seen,
                                                               std::int64_t limit) {
  const auto& t = core_->tables.messages;
  // (created_at, id) > (?, ?) spelled out: SQL Server has no row-value comparison.
  const std::string sql = core_->dialect->paginate(
      t.select + " WHERE " + t.q("conversation_id") + " = ? AND (" + t.q("created_at") + " > ? OR (" +
          t.q("created_at") + " = ? AND " + t.q("id") + " > ?)) ORDER BY " + t.q("created_at") + ", " + t.q("id"),
      limit, 0);
  Values values{conversation_id, last_seen.created_at, last_seen.created_at, last_seen.id};
  return core_->read([&](sql::Connection& c) { return detail::query_all<Message>(c, sql, values, read_message); });
}

std::vector<Message> MessageRepository::latest(std::int64_t conversation_id, std::int64_t limit) {
  const std::string sql = core_->dialect->paginate(conversation_messages_sql(core_->tables.messages, true), limit, 0);
  Values values{conversation_id};
  auto newest_first =
      core_->read([&](sql::Connection& c) { return detail::query_all<Message>(c, sql, values, read_message); });
  std::reverse(newest_first.begin(), newest_first.end());
  return newest_first;
}

}  // namespace lunadb::store
