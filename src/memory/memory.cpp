// The memory engine: rows and outbox entries in one transaction, vectors applied from the outbox,
// hybrid recall, forget with receipts. docs/memory.md explains the consistency model and scoring.
//
// The store's internal SQL helpers (store/core.hpp) are used for the rows, because a row and its
// outbox entry must share one transaction, which the repositories' one-transaction-per-call API
// cannot give.
#include "lunadb/memory.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>

#include "memory/keyword.hpp"
#include "store/core.hpp"

namespace lunadb::memory {

using store::detail::opt;
using store::detail::Values;

const char* to_string(Kind kind) noexcept { return kind == Kind::fact ? "fact" : "episode"; }

Kind kind_of_collection(std::string_view name) {
  if (name == kFactsCollection) return Kind::fact;
  if (name == kEpisodesCollection) return Kind::episode;
  throw Error(ErrorKind::invalid_argument, "memory: unknown collection '" + std::string(name) + "': use " +
                                               kFactsCollection + " or " + kEpisodesCollection);
}

MemoryOptions options_from(const Settings& settings) {
  MemoryOptions options;
  options.default_k = settings.memory_retrieval_count;
  options.batch_size = static_cast<std::size_t>(std::max(1, settings.embed_batch_size));
  return options;
}

namespace {

constexpr std::size_t kIdsPerStatement = 500;
constexpr double kRrfK = 60;

std::int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }

// The row as the vector side sees it: a result without its scores.
using Row = RecallResult;

vector::Json metadata_of(const Row& row) {
  // conversation_id 0 stands for "none": upsert merges metadata, and a key left out would keep a
  // stale value.
  return vector::Json{{"kind", to_string(row.kind)},
                      {"category", row.category},
                      {"memory_type", row.memory_type},
                      {"is_active", row.is_active},
                      {"is_private", row.is_private},
                      {"importance", row.importance},
                      {"created_at", micros(row.created_at)},
                      {"conversation_id", row.conversation_id.value_or(0)}};
}

}  // namespace

struct Memory::Impl {
  Impl(store::Store& s, vector::VectorStore& v, Embedder& e, MemoryOptions o)
      : store(s),
        vectors(v),
        embedder(e),
        options(o),
        backend(s.backend()),
        dialect(sql::dialect_for(backend)),
        tables(dialect, !store::detail::StoreCore::ids_from_connection(backend)) {}

  store::Store& store;
  vector::VectorStore& vectors;
  Embedder& embedder;
  MemoryOptions options;
  Backend backend;
  const sql::Dialect& dialect;
  store::detail::Tables tables;

  std::mutex process_mutex;  // one outbox batch at a time
  std::mutex reindex_mutex;  // one reindex at a time
  std::mutex collections_mutex;
  std::map<std::string, std::shared_ptr<vector::Collection>> collections;  // opened ones, by name
  ProcessStats replay;

  std::mutex worker_mutex;
  std::condition_variable worker_cv;
  bool worker_stop = false;
  bool worker_kick = false;
  std::thread worker;

  std::string q(std::string_view name) const { return dialect.quote(name); }

  // ---- transactions ----

  template <typename Body>
  auto write(Body&& body) {
    constexpr int kMaxAttempts = 5;
    for (int attempt = 1;; ++attempt) {
      try {
        auto lease = store.connection_source().acquire();
        sql::Transaction transaction(*lease, sql::TransactionMode::write);
        if constexpr (std::is_void_v<decltype(body(*lease))>) {
          body(*lease);
          transaction.commit();
          return;
        } else {
          auto result = body(*lease);
          transaction.commit();
          return result;
        }
      } catch (const DatabaseError& error) {
        if (!error.retryable() || attempt >= kMaxAttempts) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 2));
    }
  }

  void enqueue(sql::Connection& c, Kind kind, std::int64_t row_id) { enqueue(c, to_string(kind), row_id); }
  void enqueue(sql::Connection& c, const std::string& outbox_kind, std::int64_t row_id) {
    Values values{outbox_kind, row_id, sql::now_utc()};
    store::detail::execute(c,
                           "INSERT INTO " + q("memory_outbox") + " (" + q("kind") + ", " + q("row_id") + ", " +
                               q("created_at") + ", " + q("attempts") + ") VALUES (?, ?, ?, 0)",
                           values);
  }

  // ---- reading rows ----

  std::string fact_select() const {
    return "SELECT " + q("id") + ", " + q("content") + ", " + q("category") + ", " + q("memory_type") + ", " +
           q("importance") + ", " + q("confidence") + ", " + q("is_active") + ", " + q("is_private") + ", " +
           q("source_conversation_id") + ", " + q("created_at") + " FROM " + q("facts");
  }
  std::string episode_select() const {
    return "SELECT " + q("id") + ", " + q("summary") + ", " + q("importance") + ", " + q("conversation_id") + ", " +
           q("created_at") + " FROM " + q("episodes");
  }
  static Row read_row(Kind kind, const sql::Statement& st) {
    Row row;
    row.kind = kind;
    row.id = st.get_int64(0);
    row.text = st.get_text(1);
    if (kind == Kind::fact) {
      row.category = st.get_text(2);
      row.memory_type = st.get_optional_text(3).value_or("long");
      row.importance = st.get_optional_double(4).value_or(0.5);
      row.confidence = st.get_optional_double(5).value_or(1.0);
      row.is_active = st.get_optional_bool(6).value_or(true);
      row.is_private = st.get_optional_bool(7).value_or(false);
      row.conversation_id = st.get_optional_int64(8);
      row.created_at = st.get_optional_timestamp(9).value_or(Timestamp{});
    } else {
      row.memory_type = "episode";
      row.importance = st.get_optional_double(2).value_or(0.5);
      row.conversation_id = st.get_int64(3);
      row.created_at = st.get_optional_timestamp(4).value_or(Timestamp{});
    }
    return row;
  }

  // Rows by id, with an optional extra condition (" AND ..."), in chunks.
  std::map<std::int64_t, Row> load_rows(sql::Connection& c, Kind kind, const std::vector<std::int64_t>& ids,
                                        const std::string& condition = "", const Values& condition_values = {}) {
    std::map<std::int64_t, Row> rows;
    for (std::size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
      std::size_t n = std::min(kIdsPerStatement, ids.size() - start);
      std::string text = (kind == Kind::fact ? fact_select() : episode_select()) + " WHERE " + q("id") +
                         store::detail::in_placeholders(n) + condition;
      Values values;
      for (std::size_t i = 0; i < n; ++i) values.emplace_back(ids[start + i]);
      values.insert(values.end(), condition_values.begin(), condition_values.end());
      auto st = c.prepare(text);
      st->bind_all(values);
      while (st->step()) {
        Row row = read_row(kind, *st);
        rows.emplace(row.id, std::move(row));
      }
    }
    return rows;
  }

  // ---- collections ----

  static const char* base_name(Kind kind) { return kind == Kind::fact ? kFactsCollection : kEpisodesCollection; }
  // Generation 1 keeps the base name (Luna's own, and what `import-chroma` fills); later ones get a
  // suffix, so the old and the new generation exist side by side until the switch.
  static std::string generation_name(Kind kind, std::int64_t generation) {
    std::string name = base_name(kind);
    return generation <= 1 ? name : name + "_g" + std::to_string(generation);
  }
  static bool is_generation_name(Kind kind, const std::string& name) {
    const std::string base = base_name(kind);
    if (name == base) return true;
    const std::string prefix = base + "_g";
    return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
           std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
  }
  // Outbox entries for the reindex in progress carry their own kind, so the ordinary outbox
  // processing (which applies to the current collection) never takes them.
  static std::string catch_up_kind(Kind kind) { return std::string("reindex:") + to_string(kind); }

  // memory_collections' row of a kind.
  struct CollectionState {
    std::int64_t generation = 0;  // 0: no row yet
    std::string collection;
    std::string model;
    std::optional<std::size_t> dimension;
    std::optional<std::string> next_collection;
    std::string next_model;
    std::optional<std::int64_t> next_after_id;
  };

  // With `lock` (inside a write transaction) the row stays locked until the commit, so a batch
  // finishing its entries and a reindex switching the collection are ordered; SQLite's BEGIN
  // IMMEDIATE orders them already.
  CollectionState read_state(sql::Connection& c, Kind kind, bool lock) {
    std::string table = q("memory_collections");
    if (lock && backend == Backend::mssql) table += " WITH (UPDLOCK, ROWLOCK)";
    std::string text = "SELECT " + q("generation") + ", " + q("collection") + ", " + q("model") + ", " +
                       q("dimension") + ", " + q("next_collection") + ", " + q("next_model") + ", " +
                       q("next_after_id") + " FROM " + table + " WHERE " + q("kind") + " = ?";
    if (lock && (backend == Backend::postgresql || backend == Backend::mysql)) text += " FOR UPDATE";
    Values key{std::string(to_string(kind))};
    auto st = c.prepare(text);
    st->bind_all(key);
    CollectionState state;
    if (!st->step()) return state;
    state.generation = std::max<std::int64_t>(1, st->get_int64(0));
    state.collection = st->get_text(1);
    state.model = st->get_optional_text(2).value_or("");
    if (auto d = st->get_optional_int64(3)) state.dimension = static_cast<std::size_t>(*d);
    state.next_collection = st->get_optional_text(4);
    state.next_model = st->get_optional_text(5).value_or("");
    state.next_after_id = st->get_optional_int64(6);
    return state;
  }
  CollectionState read_state(Kind kind) {
    auto lease = store.connection_source().acquire();
    return read_state(*lease, kind, false);
  }

  // A collection by name, or nullptr when the vector store has none of that name.
  std::shared_ptr<vector::Collection> open_collection(const std::string& name) {
    std::lock_guard lock(collections_mutex);
    auto found = collections.find(name);
    if (found != collections.end()) return found->second;
    try {
      auto col = vectors.get_collection(name);
      collections[name] = col;
      return col;
    } catch (const Error& error) {
      if (error.kind() != ErrorKind::not_found) throw;
      return nullptr;
    }
  }
  std::shared_ptr<vector::Collection> create_collection(const std::string& name, std::size_t dimension,
                                                        const std::string& model) {
    vector::CollectionConfig config;
    config.name = name;
    config.dimension = static_cast<int>(dimension);
    config.embedding_model = model;
    auto col = vectors.get_or_create_collection(config);
    std::lock_guard lock(collections_mutex);
    collections[name] = col;
    return col;
  }
  void drop_collection(const std::string& name) {
    {
      std::lock_guard lock(collections_mutex);
      collections.erase(name);
    }
    vectors.delete_collection(name);
  }

  struct Current {
    CollectionState state;
    std::shared_ptr<vector::Collection> collection;  // nullptr: none yet
  };

  // The collection that holds `kind`'s vectors, as memory_collections records it (read on every
  // call: a reindex, maybe in another process, switches it). With nothing recorded yet an existing
  // base collection (an imported one) is adopted. With `create_dimension` a missing collection is
  // created under the recorded name, with the recorded model or else the embedder's, and a model
  // or dimension not recorded yet is recorded.
  Current current(Kind kind, std::optional<std::size_t> create_dimension) {
    Current out;
    out.state = read_state(kind);
    if (out.state.generation == 0) {
      auto col = open_collection(base_name(kind));
      if (!col && !create_dimension) return out;
      if (!col) col = create_collection(base_name(kind), *create_dimension, embedder.model());
      out.state = adopt(kind, col->config());
      out.collection = open_collection(out.state.collection);
      return out;
    }
    out.collection = open_collection(out.state.collection);
    if (!out.collection && create_dimension) {
      const std::string model = out.state.model.empty() ? embedder.model() : out.state.model;
      out.collection = create_collection(out.state.collection, *create_dimension, model);
      if (out.state.model != model || out.state.dimension != create_dimension) {
        Values values{model, static_cast<std::int64_t>(*create_dimension), sql::now_utc(),
                      std::string(to_string(kind)), out.state.generation};
        write([&](sql::Connection& c) {
          store::detail::execute(c,
                                 "UPDATE " + q("memory_collections") + " SET " + q("model") + " = ?, " +
                                     q("dimension") + " = ?, " + q("updated_at") + " = ? WHERE " + q("kind") +
                                     " = ? AND " + q("generation") + " = ?",
                                 values);
        });
        out.state.model = model;
        out.state.dimension = create_dimension;
      }
    }
    return out;
  }

  // Records `config` as generation 1 of `kind`, unless another writer recorded a row first.
  CollectionState adopt(Kind kind, const vector::CollectionConfig& config) {
    try {
      return write([&](sql::Connection& c) {
        auto state = read_state(c, kind, true);
        if (state.generation != 0) return state;
        Values values{std::string(to_string(kind)), config.name, config.embedding_model,
                      std::int64_t{config.dimension}, sql::now_utc()};
        store::detail::execute(c,
                               "INSERT INTO " + q("memory_collections") + " (" + q("kind") + ", " + q("collection") +
                                   ", " + q("model") + ", " + q("dimension") + ", " + q("generation") + ", " +
                                   q("updated_at") + ") VALUES (?, ?, ?, ?, 1, ?)",
                               values);
        return read_state(c, kind, false);
      });
    } catch (const DatabaseError& error) {
      if (error.kind() != ErrorKind::constraint) throw;
      return read_state(kind);  // inserted concurrently by another process
    }
  }

  // ---- the outbox ----

  struct Entry {
    std::int64_t id;
    Kind kind;
    std::int64_t row_id;
    std::int64_t attempts;
  };

  // Up to batch_size entries of the given outbox kinds, in id order.
  std::vector<Entry> read_entries(const std::vector<std::string>& kinds, bool ignore_backoff, std::size_t limit) {
    auto lease = store.connection_source().acquire();
    std::string text = "SELECT " + q("id") + ", " + q("kind") + ", " + q("row_id") + ", " + q("attempts") + " FROM " +
                       q("memory_outbox") + " WHERE " + q("kind") + store::detail::in_placeholders(kinds.size());
    Values values(kinds.begin(), kinds.end());
    if (!ignore_backoff) {
      text += " AND (" + q("next_attempt_at") + " IS NULL OR " + q("next_attempt_at") + " <= ?)";
      values.emplace_back(sql::now_utc());
    }
    text = dialect.paginate(text + " ORDER BY " + q("id"), static_cast<std::int64_t>(limit), 0);
    auto st = lease->prepare(text);
    st->bind_all(values);
    std::vector<Entry> entries;
    while (st->step()) {
      const std::string kind = st->get_text(1);
      const bool episode = kind == to_string(Kind::episode) || kind == catch_up_kind(Kind::episode);
      entries.push_back({st->get_int64(0), episode ? Kind::episode : Kind::fact, st->get_int64(2), st->get_int64(3)});
    }
    return entries;
  }
  static std::vector<std::string> ordinary_kinds() { return {to_string(Kind::fact), to_string(Kind::episode)}; }

  std::size_t count_entries(const std::vector<std::string>& kinds) {
    auto lease = store.connection_source().acquire();
    return count_entries(*lease, kinds);
  }
  std::size_t count_entries(sql::Connection& c, const std::vector<std::string>& kinds) {
    auto st = c.prepare("SELECT COUNT(*) FROM " + q("memory_outbox") + " WHERE " + q("kind") +
                        store::detail::in_placeholders(kinds.size()));
    Values values(kinds.begin(), kinds.end());
    st->bind_all(values);
    return st->step() ? static_cast<std::size_t>(st->get_int64(0)) : 0;
  }
  std::size_t count_pending() { return count_entries(ordinary_kinds()); }

  // `prefix` + " IN (...)" over `ids` in chunks, after `leading` values.
  void execute_for_ids(sql::Connection& c, const std::vector<std::int64_t>& ids, const std::string& prefix,
                       const Values& leading) {
    for (std::size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
      std::size_t n = std::min(kIdsPerStatement, ids.size() - start);
      Values values = leading;
      for (std::size_t i = 0; i < n; ++i) values.emplace_back(ids[start + i]);
      store::detail::execute(c, prefix + store::detail::in_placeholders(n), values);
    }
  }
  static std::vector<std::int64_t> entry_ids(const std::vector<Entry>& entries) {
    std::vector<std::int64_t> ids;
    for (const auto& e : entries) ids.push_back(e.id);
    return ids;
  }
  void delete_entries(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return;
    write([&](sql::Connection& c) {
      execute_for_ids(c, ids, "DELETE FROM " + q("memory_outbox") + " WHERE " + q("id"), {});
    });
  }

  // Where apply_rows writes: a collection, found or (given the first embedding's dimension)
  // created, and the embedder for it.
  struct Target {
    Embedder& embedder;
    std::function<std::shared_ptr<vector::Collection>(std::optional<std::size_t> create_dimension)> collection;
    std::string refuse_embedding;  // not empty: why this target must not embed (another model is recorded)
  };

  static std::vector<std::vector<float>> embed_checked(Embedder& with, const std::vector<std::string>& texts) {
    auto embeddings = with.embed(texts);
    if (embeddings.size() != texts.size() || embeddings.empty())
      throw Error(ErrorKind::embedding, "the embedder returned a wrong number of vectors");
    return embeddings;
  }

  // The model is stamped on each vector (refreshes leave it alone) so verify() can tell vectors of
  // another model apart from the rest of the collection.
  static std::vector<vector::Record> records_for(const std::vector<const Row*>& rows,
                                                 std::vector<std::vector<float>>& embeddings, const std::string& model) {
    std::vector<vector::Record> records;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      vector::Json metadata = metadata_of(*rows[i]);
      metadata["model"] = model;
      records.push_back({std::to_string(rows[i]->id), std::move(embeddings[i]), rows[i]->text, std::move(metadata)});
    }
    return records;
  }

  // Brings the vectors of the rows `row_ids` in `target` in line with the rows as they are now.
  void apply_rows(Kind kind, std::vector<std::int64_t> ids, Target& target, ProcessStats& stats) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return;
    std::map<std::int64_t, Row> rows;
    {
      auto lease = store.connection_source().acquire();
      rows = load_rows(*lease, kind, ids);
    }
    std::vector<std::string> gone;
    for (auto id : ids)
      if (!rows.count(id)) gone.push_back(std::to_string(id));
    // Rows whose text is unchanged get their metadata refreshed without a new embedding.
    auto col = target.collection(std::nullopt);
    std::map<std::string, std::string> existing_documents;
    if (col && !rows.empty()) {
      vector::GetRequest get;
      for (const auto& [id, row] : rows) get.ids.push_back(std::to_string(id));
      get.include = vector::include_documents;
      auto found = col->get(get);
      for (std::size_t i = 0; i < found.ids.size(); ++i)
        existing_documents[found.ids[i]] = found.documents[i].value_or("");
    }
    std::vector<vector::RecordUpdate> refresh;
    std::vector<const Row*> to_embed;
    for (const auto& [id, row] : rows) {
      auto it = existing_documents.find(std::to_string(id));
      if (it != existing_documents.end() && it->second == row.text) {
        refresh.push_back({std::to_string(id), std::nullopt, std::nullopt, metadata_of(row)});
      } else {
        to_embed.push_back(&row);
      }
    }
    if (!to_embed.empty()) {
      if (!target.refuse_embedding.empty()) throw Error(ErrorKind::config, target.refuse_embedding);
      std::vector<std::string> texts;
      for (const Row* row : to_embed) texts.push_back(row->text);
      auto embeddings = embed_checked(target.embedder, texts);
      col = target.collection(embeddings.front().size());
      auto records = records_for(to_embed, embeddings, target.embedder.model());
      col->upsert(records);
      stats.applied += records.size();
    }
    if (!refresh.empty()) {
      col->update(refresh);
      stats.applied += refresh.size();
    }
    if (!gone.empty() && col) {
      vector::DeleteRequest del;
      del.ids = gone;
      stats.removed += col->remove(del);
    }
  }

  static std::vector<std::int64_t> row_ids_of(const std::vector<Entry>& entries, Kind kind) {
    std::vector<std::int64_t> ids;
    for (const auto& e : entries)
      if (e.kind == kind) ids.push_back(e.row_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  // Applies ordinary entries to each kind's current collection; returns the generation of the
  // collection each kind was applied to (0: none was recorded).
  std::map<Kind, std::int64_t> apply(const std::vector<Entry>& entries, ProcessStats& stats) {
    std::map<Kind, std::int64_t> generations;
    for (Kind kind : {Kind::fact, Kind::episode}) {
      auto ids = row_ids_of(entries, kind);
      if (ids.empty()) continue;
      Current now = current(kind, std::nullopt);
      generations[kind] = now.state.generation;
      Target target{embedder,
                    [&](std::optional<std::size_t> create_dimension) {
                      if (!now.collection && create_dimension) {
                        now = current(kind, create_dimension);
                        generations[kind] = now.state.generation;
                      }
                      return now.collection;
                    },
                    {}};
      // Writing this embedder's vectors into a collection of another model would mix two vector
      // spaces; the entries wait for a Memory with the recorded model (or a reindex to this one).
      if (!now.state.model.empty() && now.state.model != embedder.model())
        target.refuse_embedding = std::string("the ") + to_string(kind) + " collection '" + now.state.collection +
                                  "' holds vectors of model '" + now.state.model + "' but the embedder's model is '" +
                                  embedder.model() + "' (OLLAMA_EMBED_MODEL / OPENAI_EMBED_MODEL): run `lunadb memory " +
                                  "reindex --model " + embedder.model() + "` to move the collection to it";
      apply_rows(kind, ids, target, stats);
    }
    return generations;
  }

  // Deletes applied entries by entry id (an entry written for the same row meanwhile stays), in
  // one transaction with each kind's memory_collections row locked. A kind whose collection a
  // reindex switched after the batch read it keeps its entries: they are applied again, to the
  // new collection. While a reindex is in progress each applied row gets a catch-up entry in the
  // same transaction, and the switch waits until none is left, so no change made during a reindex
  // can miss the new collection (docs/memory.md, "Reindex").
  void finish(const std::vector<Entry>& entries, const std::map<Kind, std::int64_t>& generations) {
    write([&](sql::Connection& c) {
      std::vector<std::int64_t> done;
      for (Kind kind : {Kind::fact, Kind::episode}) {
        auto rows = row_ids_of(entries, kind);
        if (rows.empty()) continue;
        auto state = read_state(c, kind, true);
        auto seen = generations.find(kind);
        if (state.generation != (seen == generations.end() ? 0 : seen->second)) continue;
        if (state.next_collection)
          for (auto row_id : rows) enqueue(c, catch_up_kind(kind), row_id);
        for (const auto& e : entries)
          if (e.kind == kind) done.push_back(e.id);
      }
      execute_for_ids(c, done, "DELETE FROM " + q("memory_outbox") + " WHERE " + q("id"), {});
    });
  }

  ProcessStats process(bool ignore_backoff) {
    std::lock_guard lock(process_mutex);
    ProcessStats stats;
    for (;;) {
      auto entries = read_entries(ordinary_kinds(), ignore_backoff, options.batch_size);
      if (entries.empty()) break;
      std::map<Kind, std::int64_t> generations;
      try {
        generations = apply(entries, stats);
      } catch (const Error& error) {
        stats.failed += entries.size();
        stats.last_error = error.what();
        std::int64_t attempts = 0;
        for (const auto& e : entries) attempts = std::max(attempts, e.attempts);
        auto wait = options.retry_backoff * (std::int64_t{1} << std::min<std::int64_t>(attempts, 20));
        wait = std::min(wait, options.max_retry_backoff);
        Values leading{sql::now_utc() + std::chrono::duration_cast<std::chrono::microseconds>(wait),
                       std::string(error.what()).substr(0, 1000)};
        write([&](sql::Connection& c) {
          execute_for_ids(c, entry_ids(entries),
                          "UPDATE " + q("memory_outbox") + " SET " + q("attempts") + " = " + q("attempts") +
                              " + 1, " + q("next_attempt_at") + " = ?, " + q("last_error") + " = ? WHERE " + q("id"),
                          leading);
        });
        break;
      }
      finish(entries, generations);
    }
    stats.pending = count_pending();
    return stats;
  }

  void kick() {
    if (options.start_worker) {
      {
        std::lock_guard lock(worker_mutex);
        worker_kick = true;
      }
      worker_cv.notify_one();
    } else {
      try {
        process(true);
      } catch (const std::exception&) {
        // The write is committed; its entry stays for the next process_pending().
      }
    }
  }

  void worker_loop() noexcept {
    for (;;) {
      {
        std::unique_lock lock(worker_mutex);
        worker_cv.wait_for(lock, options.worker_poll, [&] { return worker_stop || worker_kick; });
        if (worker_stop) return;
        worker_kick = false;
      }
      try {
        process(false);
      } catch (...) {
        // A database error: the entries stay; the next round tries again.
      }
    }
  }

  // ---- writes ----

  static void validate(const store::Fact& f) {
    store::detail::check_utf8("facts.category", f.category);
    store::detail::check_utf8("facts.content", f.content);
    store::detail::check_utf8("facts.memory_type", f.memory_type);
    store::detail::check_utf8("facts.source", f.source);
    store::detail::check_finite("facts.importance", f.importance);
    store::detail::check_finite("facts.confidence", f.confidence);
  }

  store::Fact insert_fact(sql::Connection& c, const store::Fact& fact) {
    store::Fact s = fact;
    // A time the caller gives is kept (a memory imported with its history); otherwise now.
    s.updated_at = sql::now_utc();
    if (s.created_at == Timestamp{}) s.created_at = s.updated_at;
    Values values{s.category,   s.content, s.memory_type, s.importance,         s.confidence,
                  s.source,     opt(s.source_conversation_id), s.is_active, s.is_private, opt(s.superseded_by),
                  opt(s.expires_at), s.created_at, s.updated_at, opt(s.last_accessed)};
    s.id = store::detail::insert_returning_id(c, tables.facts, values);
    enqueue(c, Kind::fact, s.id);
    return s;
  }

  std::vector<NearDuplicate> near_duplicates(const store::Fact& fact) {
    std::vector<NearDuplicate> out;
    auto col = current(Kind::fact, std::nullopt).collection;
    if (!col) return out;
    vector::GetRequest get;
    get.ids = {std::to_string(fact.id)};
    get.include = vector::include_embeddings;
    auto self = col->get(get);
    if (self.ids.empty()) return out;
    vector::QueryRequest query;
    query.embeddings = {self.embeddings.front()};
    query.n_results = options.near_duplicate_limit + 1;
    query.where = {{"$and", vector::Json::array({{{"category", fact.category}}, {{"is_active", true}}})}};
    query.include = vector::include_documents | vector::include_distances;
    auto matches = col->query(query);
    for (std::size_t i = 0; i < matches.front().ids.size(); ++i) {
      if (matches.front().ids[i] == get.ids.front()) continue;
      double similarity = 1.0 - matches.front().distances[i];
      if (similarity < options.near_duplicate_threshold) continue;
      out.push_back({std::stoll(matches.front().ids[i]), matches.front().documents[i].value_or(""), similarity});
    }
    return out;
  }

  RememberResult finish_remember(store::Fact fact) {
    kick();
    RememberResult result;
    result.fact = std::move(fact);
    try {
      auto col = current(Kind::fact, std::nullopt).collection;
      if (col) {
        vector::GetRequest get;
        get.ids = {std::to_string(result.fact.id)};
        get.include = 0;
        result.vector_pending = col->get(get).ids.empty();
      }
      if (!result.vector_pending) result.near_duplicates = near_duplicates(result.fact);
    } catch (const Error&) {
      result.vector_pending = true;  // the fact is committed; duplicates are a best effort
    }
    return result;
  }

  // ---- forget ----

  std::int64_t exec(sql::Connection& c, const std::string& text, const Values& values) {
    return store::detail::execute(c, text, values);
  }

  void forget_fact_in(sql::Connection& c, std::int64_t id, ForgetReceipt& receipt) {
    Values both{id, id};
    Values one{id};
    receipt.relationships += exec(c,
                                  "DELETE FROM " + q("fact_relationships") + " WHERE " + q("fact_id_a") + " = ? OR " +
                                      q("fact_id_b") + " = ?",
                                  both);
    receipt.contradiction_notes += exec(c,
                                        "DELETE FROM " + q("contradiction_notes") + " WHERE " + q("new_fact_id") +
                                            " = ? OR " + q("old_fact_id") + " = ?",
                                        both);
    exec(c, "UPDATE " + q("facts") + " SET " + q("superseded_by") + " = NULL WHERE " + q("superseded_by") + " = ?",
         one);
    std::int64_t n = exec(c, "DELETE FROM " + q("facts") + " WHERE " + q("id") + " = ?", one);
    receipt.facts += n;
    if (n > 0) enqueue(c, Kind::fact, id);
  }

  std::vector<std::int64_t> ids_where(sql::Connection& c, const std::string& text, const Values& values) {
    auto st = c.prepare(text);
    st->bind_all(values);
    std::vector<std::int64_t> ids;
    while (st->step()) ids.push_back(st->get_int64(0));
    return ids;
  }

  // Runs a forget transaction; on SQLite with secure_delete, so freed pages (of the rows and of
  // the FTS index) are overwritten with zeros.
  template <typename Body>
  ForgetReceipt forget_with(std::string what, Body&& body) {
    ForgetReceipt receipt;
    receipt.what = std::move(what);
    if (backend == Backend::sqlite) {
      auto lease = store.connection_source().acquire();
      lease->execute("PRAGMA secure_delete = ON");
      try {
        sql::Transaction transaction(*lease, sql::TransactionMode::write);
        body(*lease, receipt);
        transaction.commit();
      } catch (...) {
        try { lease->execute("PRAGMA secure_delete = OFF"); } catch (...) {}
        throw;
      }
      lease->execute("PRAGMA secure_delete = OFF");
    } else {
      write([&](sql::Connection& c) {
        ForgetReceipt attempt = receipt;
        body(c, attempt);
        receipt = attempt;
      });
    }
    receipt.at = sql::now_utc();
    try {
      auto stats = process(true);
      receipt.vectors = static_cast<std::int64_t>(stats.removed);
      receipt.vectors_pending = stats.pending > 0;
    } catch (const std::exception&) {
      receipt.vectors_pending = true;
    }
    return receipt;
  }

  // ---- verify / repair ----

  std::size_t count_rows(Kind kind, std::int64_t up_to_id = 0) {
    auto lease = store.connection_source().acquire();
    std::string text = "SELECT COUNT(*) FROM " + q(kind == Kind::fact ? "facts" : "episodes");
    Values values;
    if (up_to_id > 0) {
      text += " WHERE " + q("id") + " <= ?";
      values.emplace_back(up_to_id);
    }
    auto st = lease->prepare(text);
    st->bind_all(values);
    return st->step() ? static_cast<std::size_t>(st->get_int64(0)) : 0;
  }

  // The collection of `kind` as memory_collections records it, without creating one.
  VerifyKind describe(Kind kind, std::shared_ptr<vector::Collection>& col) {
    Current now = current(kind, std::nullopt);
    col = now.collection;
    VerifyKind out;
    out.kind = kind;
    out.collection = now.state.collection;
    out.model = now.state.model;
    out.dimension = now.state.dimension;
    out.generation = now.state.generation;
    if (now.state.next_collection)
      out.reindex = ReindexState{*now.state.next_collection, now.state.next_model, now.state.next_after_id,
                                 count_entries({catch_up_kind(kind)})};
    if (col) out.vectors = col->count();
    return out;
  }

  VerifyReport verify() {
    VerifyReport report;
    report.pending = count_pending();
    for (Kind kind : {Kind::fact, Kind::episode}) {
      std::shared_ptr<vector::Collection> col;
      VerifyKind k = describe(kind, col);
      std::set<std::int64_t> rows;
      {
        auto lease = store.connection_source().acquire();
        auto st = lease->prepare("SELECT " + q("id") + " FROM " + q(kind == Kind::fact ? "facts" : "episodes"));
        while (st->step()) rows.insert(st->get_int64(0));
      }
      k.rows = rows.size();
      std::set<std::int64_t> with_vector;
      if (col) {
        vector::GetRequest get;
        get.include = vector::include_metadatas;
        auto all = col->get(get);
        k.vectors = all.ids.size();
        for (std::size_t i = 0; i < all.ids.size(); ++i) {
          std::int64_t id = 0;
          const std::string& text = all.ids[i];
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
          if (ec != std::errc() || end != text.data() + text.size() || !rows.count(id)) {
            k.orphans.push_back(text);
            continue;
          }
          with_vector.insert(id);
          // A vector without the key predates the stamp; it is taken to be from the collection's model.
          const auto& meta = all.metadatas[i];
          if (!k.model.empty() && meta.is_object() && meta.contains("model") && meta["model"].is_string() &&
              meta["model"].get<std::string>() != k.model)
            k.wrong_model.push_back(id);
        }
      }
      for (auto id : rows)
        if (!with_vector.count(id)) k.missing.push_back(id);
      std::sort(k.orphans.begin(), k.orphans.end());
      std::sort(k.wrong_model.begin(), k.wrong_model.end());
      report.kinds.push_back(std::move(k));
    }
    return report;
  }

  VerifyReport repair() {
    VerifyReport found = verify();
    for (const auto& k : found.kinds) {
      if ((!k.missing.empty() || !k.wrong_model.empty()) && !k.model.empty() && k.model != embedder.model())
        throw Error(ErrorKind::usage, std::string("memory repair: the ") + to_string(k.kind) + " collection '" +
                                          k.collection + "' is recorded with model '" + k.model +
                                          "' but the embedder is '" + embedder.model() +
                                          "'; repairing would mix models: run `lunadb memory reindex` instead");
    }
    for (const auto& k : found.kinds) {
      // Wrong-model vectors go first: with the same text still stored, applying the entry would
      // only refresh their metadata and keep the foreign embedding.
      std::vector<std::string> doomed = k.orphans;
      for (auto id : k.wrong_model) doomed.push_back(std::to_string(id));
      if (!doomed.empty()) {
        if (auto col = current(k.kind, std::nullopt).collection) {
          for (std::size_t start = 0; start < doomed.size(); start += kIdsPerStatement) {
            vector::DeleteRequest del;
            del.ids.assign(doomed.begin() + static_cast<std::ptrdiff_t>(start),
                           doomed.begin() + static_cast<std::ptrdiff_t>(std::min(doomed.size(), start + kIdsPerStatement)));
            col->remove(del);
          }
        }
      }
      std::vector<std::int64_t> rows = k.missing;
      rows.insert(rows.end(), k.wrong_model.begin(), k.wrong_model.end());
      if (!rows.empty()) {
        write([&](sql::Connection& c) {
          for (auto id : rows) enqueue(c, k.kind, id);
        });
      }
    }
    auto stats = process(true);
    if (stats.pending > 0)
      throw Error(ErrorKind::embedding, "memory repair: " + std::to_string(stats.pending) +
                                            " outbox entries still pending: " + stats.last_error);
    return verify();
  }

  MemoryStats memory_stats() {
    MemoryStats out;
    out.facts = count_rows(Kind::fact);
    out.episodes = count_rows(Kind::episode);
    out.pending = count_pending();
    for (Kind kind : {Kind::fact, Kind::episode}) {
      std::shared_ptr<vector::Collection> col;
      VerifyKind k = describe(kind, col);
      k.rows = kind == Kind::fact ? out.facts : out.episodes;
      out.collections.push_back(std::move(k));
    }
    return out;
  }

  // ---- reindex (docs/memory.md, "Reindex") ----

  // The embedder for `model`: the one given, the Memory's own, or one made for it.
  Embedder& embedder_for(const std::string& model, const ReindexOptions& o, std::unique_ptr<Embedder>& owned) {
    if (o.embedder) {
      if (o.embedder->model() != model)
        throw Error(ErrorKind::usage, "memory reindex: the embedder given is for model '" + o.embedder->model() +
                                          "', not the target model '" + model + "'");
      return *o.embedder;
    }
    if (model == embedder.model()) return embedder;
    if (!options.embedder_for_model)
      throw Error(ErrorKind::usage, "memory reindex: no embedder for model '" + model +
                                        "' (MemoryOptions::embedder_for_model is not set)");
    owned = options.embedder_for_model(model);
    return *owned;
  }

  // Starts the reindex of `kind` to `model`, or finds the one in progress (which must be to the
  // same model: a half-built collection of another model is never mixed into).
  CollectionState begin_reindex(Kind kind, const std::string& model, ReindexResult& result) {
    current(kind, std::nullopt);  // adopts an existing base collection when nothing is recorded
    return write([&](sql::Connection& c) {
      CollectionState state = read_state(c, kind, true);
      result.from_collection = state.collection;
      result.from_model = state.model;
      result.resumed = false;
      result.resumed_after.reset();
      if (state.generation == 0) {
        // Nothing recorded and no collection: generation 1 is the (absent) base collection.
        Values values{std::string(to_string(kind)), std::string(base_name(kind)), generation_name(kind, 2), model,
                      sql::now_utc()};
        store::detail::execute(c,
                               "INSERT INTO " + q("memory_collections") + " (" + q("kind") + ", " + q("collection") +
                                   ", " + q("generation") + ", " + q("next_collection") + ", " + q("next_model") +
                                   ", " + q("updated_at") + ") VALUES (?, ?, 1, ?, ?, ?)",
                               values);
        return read_state(c, kind, false);
      }
      if (state.next_collection) {
        if (state.next_model != model)
          throw Error(ErrorKind::usage,
                      "memory reindex: a reindex of the " + std::string(to_string(kind)) + " collection to model '" +
                          state.next_model + "' is in progress (into '" + *state.next_collection +
                          "'): run it again with --model " + state.next_model + " (or without --model) to finish it");
        result.resumed = true;
        result.resumed_after = state.next_after_id;
        return state;
      }
      state.next_collection = generation_name(kind, state.generation + 1);
      state.next_model = model;
      state.next_after_id.reset();
      Values values{*state.next_collection, model, sql::now_utc(), std::string(to_string(kind))};
      store::detail::execute(c,
                             "UPDATE " + q("memory_collections") + " SET " + q("next_collection") + " = ?, " +
                                 q("next_model") + " = ?, " + q("next_after_id") + " = NULL, " + q("updated_at") +
                                 " = ? WHERE " + q("kind") + " = ?",
                             values);
      return state;
    });
  }

  // Deletes the collections of `kind`'s generations that memory_collections no longer names: the
  // previous one after a switch (or after a crash right after it), and a next one nobody records.
  // Returns the names deleted.
  std::vector<std::string> drop_unrecorded_generations(Kind kind) {
    const CollectionState state = read_state(kind);
    std::vector<std::string> dropped;
    for (const auto& config : vectors.list_collections()) {
      if (!is_generation_name(kind, config.name) || config.name == state.collection ||
          config.name == state.next_collection.value_or(""))
        continue;
      drop_collection(config.name);
      dropped.push_back(config.name);
    }
    return dropped;
  }

  std::vector<Row> rows_after(Kind kind, std::int64_t after_id, std::size_t limit) {
    auto lease = store.connection_source().acquire();
    Values values{after_id};
    auto st = lease->prepare(dialect.paginate((kind == Kind::fact ? fact_select() : episode_select()) + " WHERE " +
                                                  q("id") + " > ? ORDER BY " + q("id"),
                                              static_cast<std::int64_t>(limit), 0));
    st->bind_all(values);
    std::vector<Row> rows;
    while (st->step()) rows.push_back(read_row(kind, *st));
    return rows;
  }

  // Applies the catch-up entries (rows changed during the reindex) to the next collection.
  std::size_t catch_up(Kind kind, Embedder& target_embedder, const std::string& next, std::size_t batch) {
    std::size_t rows = 0;
    Target target{target_embedder,
                  [&](std::optional<std::size_t> create_dimension) {
                    auto col = open_collection(next);
                    if (!col && create_dimension) col = create_collection(next, *create_dimension, target_embedder.model());
                    return col;
                  },
                  {}};
    for (;;) {
      auto entries = read_entries({catch_up_kind(kind)}, true, batch);
      if (entries.empty()) return rows;
      ProcessStats ignored;
      auto ids = row_ids_of(entries, kind);
      apply_rows(kind, ids, target, ignored);
      rows += ids.size();
      delete_entries(entry_ids(entries));
    }
  }

  // The switch: collection, model, dimension and generation in one UPDATE, under the row lock that
  // finish() takes too, and only when no catch-up entry is left. False when one is: catch up again.
  bool switch_to(Kind kind, const std::string& next, const std::string& model, std::optional<std::size_t> dimension) {
    return write([&](sql::Connection& c) {
      CollectionState state = read_state(c, kind, true);
      if (state.next_collection != next)
        throw Error(ErrorKind::internal, "memory reindex: the reindex into '" + next +
                                             "' is no longer recorded in memory_collections (another reindex ran?)");
      if (count_entries(c, {catch_up_kind(kind)}) > 0) return false;
      Values values{next, model, opt(dimension ? std::optional<std::int64_t>(static_cast<std::int64_t>(*dimension))
                                               : std::nullopt),
                    state.generation + 1, sql::now_utc(), std::string(to_string(kind))};
      store::detail::execute(c,
                             "UPDATE " + q("memory_collections") + " SET " + q("collection") + " = ?, " + q("model") +
                                 " = ?, " + q("dimension") + " = ?, " + q("generation") + " = ?, " +
                                 q("next_collection") + " = NULL, " + q("next_model") + " = NULL, " +
                                 q("next_after_id") + " = NULL, " + q("updated_at") + " = ? WHERE " + q("kind") +
                                 " = ?",
                             values);
      return true;
    });
  }

  ReindexResult reindex_kind(Kind kind, Embedder& target, const ReindexOptions& o) {
    const std::size_t batch = std::max<std::size_t>(1, o.batch_size ? o.batch_size : options.batch_size);
    ReindexResult result;
    result.kind = kind;
    result.to_model = target.model();
    const CollectionState state = begin_reindex(kind, target.model(), result);
    const std::string next = *state.next_collection;
    result.to_collection = next;
    drop_unrecorded_generations(kind);  // a stale collection under the next name would be mixed into

    std::int64_t after = state.next_after_id.value_or(0);
    std::size_t done = after > 0 ? count_rows(kind, after) : 0;
    ReindexProgress progress{kind, next, target.model(), done, std::max(done, count_rows(kind)), false};
    auto next_col = open_collection(next);
    for (;;) {
      auto rows = rows_after(kind, after, batch);
      if (rows.empty()) break;
      std::vector<std::string> texts;
      std::vector<const Row*> pointers;
      for (const auto& row : rows) {
        texts.push_back(row.text);
        pointers.push_back(&row);
      }
      auto embeddings = embed_checked(target, texts);
      if (!next_col) next_col = create_collection(next, embeddings.front().size(), target.model());
      next_col->upsert(records_for(pointers, embeddings, target.model()));
      after = rows.back().id;
      // Recorded only after the vectors are durable: a reindex killed before this line redoes the
      // batch, one killed after it resumes behind it.
      Values values{after, sql::now_utc(), std::string(to_string(kind)), next};
      const auto recorded = write([&](sql::Connection& c) {
        return store::detail::execute(c,
                                      "UPDATE " + q("memory_collections") + " SET " + q("next_after_id") + " = ?, " +
                                          q("updated_at") + " = ? WHERE " + q("kind") + " = ? AND " +
                                          q("next_collection") + " = ?",
                                      values);
      });
      if (recorded == 0)
        throw Error(ErrorKind::internal, "memory reindex: the reindex into '" + next +
                                             "' is no longer recorded in memory_collections (another reindex ran?)");
      result.embedded += rows.size();
      progress.done += rows.size();
      progress.total = std::max(progress.total, progress.done);
      if (o.progress) o.progress(progress);
    }
    result.total = count_rows(kind);

    for (;;) {
      result.caught_up += catch_up(kind, target, next, batch);
      auto built = open_collection(next);
      std::optional<std::size_t> dimension;
      if (built) dimension = static_cast<std::size_t>(built->config().dimension);
      if (switch_to(kind, next, target.model(), dimension)) {
        result.dimension = dimension;
        break;
      }
    }
    progress.switched = true;
    progress.total = result.total;
    progress.done = result.total;
    if (o.progress) o.progress(progress);
    auto dropped = drop_unrecorded_generations(kind);
    result.dropped_old = std::find(dropped.begin(), dropped.end(), result.from_collection) != dropped.end();
    return result;
  }

  std::vector<ReindexResult> reindex(const std::optional<std::string>& collection,
                                     const std::optional<std::string>& model, const ReindexOptions& o) {
    std::vector<Kind> kinds;
    if (collection) {
      kinds.push_back(kind_of_collection(*collection));
    } else {
      kinds = {Kind::fact, Kind::episode};
    }
    std::lock_guard lock(reindex_mutex);
    // Without a model, an interrupted reindex names it, for the kinds it did not reach yet too: a
    // run over both kinds killed during the facts goes on with the same model for the episodes.
    std::map<Kind, CollectionState> states;
    std::optional<std::string> interrupted_model;
    for (Kind kind : kinds) {
      states[kind] = read_state(kind);
      if (states[kind].next_collection && !interrupted_model) interrupted_model = states[kind].next_model;
    }
    const std::string default_model = model               ? *model
                                      : interrupted_model ? *interrupted_model
                                      : o.embedder        ? o.embedder->model()
                                                          : embedder.model();
    std::vector<ReindexResult> results;
    for (Kind kind : kinds) {
      const CollectionState& state = states[kind];
      std::string target_model = !model && state.next_collection ? state.next_model : default_model;
      std::unique_ptr<Embedder> owned;
      Embedder& target = embedder_for(target_model, o, owned);
      results.push_back(reindex_kind(kind, target, o));
    }
    return results;
  }

  // ---- recall ----

  // The recall filters as one list of terms, rendered three ways below: SQL for the keyword
  // search, a `where` on the vectors' metadata for the vector search, and a test of a row loaded
  // by id. A NULL column counts as the value read_row() gives it, which is also the value the
  // metadata holds, so the three agree on every row.
  struct FilterTerm {
    enum class Op { equal, at_least, before };
    const char* column;  // of facts / episodes, and the metadata key
    Op op;
    sql::Value value;
    bool null_passes = false;  // read_row()'s value for NULL satisfies the term
  };

  // Terms hold text, flags and times; values of two types never compare equal or ordered.
  static bool satisfies(const sql::Value& field, FilterTerm::Op op, const sql::Value& value) {
    if (field.index() != value.index()) return false;
    return std::visit(
        [&](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> || std::is_same_v<T, Timestamp>) {
            const T& b = std::get<T>(value);
            switch (op) {
              case FilterTerm::Op::equal: return a == b;
              case FilterTerm::Op::at_least: return !(a < b);
              case FilterTerm::Op::before: return a < b;
            }
          }
          return false;
        },
        field);
  }

  // What read_row() reads for a NULL column (none for a column it requires).
  static std::optional<sql::Value> value_for_null(std::string_view column) {
    if (column == "memory_type") return sql::Value(std::string("long"));
    if (column == "is_active") return sql::Value(true);
    if (column == "is_private") return sql::Value(false);
    if (column == "created_at") return sql::Value(Timestamp{});
    return std::nullopt;
  }

  static sql::Value field_of(const Row& row, std::string_view column) {
    if (column == "category") return row.category;
    if (column == "memory_type") return row.memory_type;
    if (column == "is_active") return row.is_active;
    if (column == "is_private") return row.is_private;
    return row.created_at;
  }

  static std::vector<FilterTerm> filter_terms(Kind kind, const RecallOptions& o) {
    using Op = FilterTerm::Op;
    std::vector<FilterTerm> terms;
    auto add = [&](const char* column, Op op, sql::Value value) {
      const auto null_value = value_for_null(column);
      const bool null_passes = null_value && satisfies(*null_value, op, value);
      terms.push_back(FilterTerm{column, op, std::move(value), null_passes});
    };
    if (kind == Kind::fact) {
      if (o.category) add("category", Op::equal, *o.category);
      if (o.memory_type) add("memory_type", Op::equal, *o.memory_type);
      if (o.active) add("is_active", Op::equal, *o.active);
      if (o.is_private) add("is_private", Op::equal, *o.is_private);
    }
    if (o.created_from) add("created_at", Op::at_least, *o.created_from);
    if (o.created_to) add("created_at", Op::before, *o.created_to);
    return terms;
  }

  std::string filter_sql(Kind kind, const RecallOptions& o, Values& values, const std::string& prefix) const {
    std::string out;
    for (auto& term : filter_terms(kind, o)) {
      const std::string column = prefix + q(term.column);
      const char* op = term.op == FilterTerm::Op::equal ? " = ?" : term.op == FilterTerm::Op::at_least ? " >= ?" : " < ?";
      out += term.null_passes ? " AND (" + column + op + " OR " + column + " IS NULL)" : " AND " + column + op;
      values.push_back(std::move(term.value));
    }
    return out;
  }

  static bool passes_filters(const Row& row, const RecallOptions& o) {
    for (const auto& term : filter_terms(row.kind, o)) {
      if (!satisfies(field_of(row, term.column), term.op, term.value)) return false;
    }
    return true;
  }

  static vector::Json vector_filter(Kind kind, const RecallOptions& o) {
    vector::Json parts = vector::Json::array();
    for (const auto& term : filter_terms(kind, o)) {
      vector::Json value;
      if (const auto* text = std::get_if<std::string>(&term.value)) {
        value = *text;
      } else if (const auto* flag = std::get_if<bool>(&term.value)) {
        value = *flag;
      } else {
        value = micros(std::get<Timestamp>(term.value));  // metadata holds created_at as microseconds
      }
      if (term.op == FilterTerm::Op::at_least) value = {{"$gte", value}};
      if (term.op == FilterTerm::Op::before) value = {{"$lt", value}};
      parts.push_back({{term.column, value}});
    }
    if (parts.empty()) return nullptr;
    if (parts.size() == 1) return parts.front();
    return {{"$and", parts}};
  }

  // (id, relevance) best first, from the backend's full-text search.
  std::vector<std::pair<std::int64_t, double>> keyword_hits(Kind kind, std::string_view query, const RecallOptions& o,
                                                            std::size_t limit) {
    std::vector<std::pair<std::int64_t, double>> hits;
    const std::string table = kind == Kind::fact ? "facts" : "episodes";
    const std::string column = kind == Kind::fact ? "content" : "summary";
    // The same words on every backend: a query without one (only emoji or punctuation) has no
    // keyword part (PostgreSQL would otherwise log a NOTICE for the empty tsquery).
    auto words = query_words(query);
    if (words.empty()) return hits;
    auto lease = store.connection_source().acquire();
    Values values;
    std::string text;
    if (backend == Backend::sqlite) {
      const std::string fts = "lunadb_" + table + "_fts";
      // bm25 is computed for every row any word matches: words as common as "is" would make a
      // query cost a scan of the memory. The rarest words that together match at most
      // kKeywordRowBudget rows rank as well (a common word's idf is small) at a bounded cost.
      const std::string vocab = fts + "_vocab";
      const std::string frequency = "SELECT doc FROM temp." + vocab + " WHERE term = ?";
      std::unique_ptr<sql::Statement> df;
      try {
        df = lease->prepare(frequency);
      } catch (const DatabaseError&) {
        // The vocabulary is a table of the connection's temp schema: made on a connection's first
        // keyword search, and there for the connection's life.
        lease->execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp." + vocab + " USING fts5vocab(main, " + fts + ", row)");
        df = lease->prepare(frequency);
      }
      words = words_within_budget(words, [&](const std::string& word) -> std::int64_t {
        df->reset();
        df->bind_all(Values{word});
        return df->step() ? df->get_int64(0) : 0;
      });
      if (words.empty()) return hits;
      // The best-ranked matches first, inside FTS5, then the filters on those rows only: joining
      // every match to its row to filter it cost more than the ranking. The filters pass most
      // rows; when they leave fewer than `limit` of the 4 * limit best, every match is filtered.
      const std::string match = fts5_match_expression(words);
      Values filter_values;
      const std::string filters = filter_sql(kind, o, filter_values, "t.");
      auto run = [&](const std::string& from_matches) {
        Values all{match};
        all.insert(all.end(), filter_values.begin(), filter_values.end());
        auto st = lease->prepare("SELECT t." + q("id") + ", -m.s FROM (" + from_matches + ") m JOIN " + q(table) +
                                 " t ON t." + q("id") + " = m.id WHERE 1 = 1" + filters + " ORDER BY m.s, t." + q("id") +
                                 " LIMIT " + std::to_string(limit));
        st->bind_all(all);
        std::vector<std::pair<std::int64_t, double>> out;
        while (st->step()) out.emplace_back(st->get_int64(0), st->get_double(1));
        return out;
      };
      const std::string matches = "SELECT rowid AS id, bm25(" + fts + ") AS s FROM " + fts + " WHERE " + fts + " MATCH ?";
      const std::size_t best = 4 * limit;
      hits = run(matches + " ORDER BY s LIMIT " + std::to_string(best));
      if (hits.size() < limit && !filters.empty()) hits = run(matches);
      return hits;
    }
    if (backend == Backend::postgresql) {
      // plainto_tsquery joins the words with & (all required); | makes any word a hit, as bm25's OR.
      values.emplace_back(std::string(query));
      const std::string vec = "to_tsvector('simple', t." + q(column) + ")";
      text = "SELECT t." + q("id") + ", ts_rank_cd(" + vec + ", kq.tq) AS s FROM " + q(table) +
             " t, (SELECT replace(plainto_tsquery('simple', ?)::text, '&', '|')::tsquery AS tq) kq WHERE " + vec +
             " @@ kq.tq" + filter_sql(kind, o, values, "t.") + " ORDER BY s DESC, t." + q("id");
    } else if (backend == Backend::mysql) {
      values.emplace_back(std::string(query));
      values.emplace_back(std::string(query));
      const std::string against = "MATCH(t." + q(column) + ") AGAINST (? IN NATURAL LANGUAGE MODE)";
      text = "SELECT t." + q("id") + ", " + against + " AS s FROM " + q(table) + " t WHERE " + against +
             filter_sql(kind, o, values, "t.") + " ORDER BY s DESC, t." + q("id");
    } else {
      return hits;  // SQL Server: no keyword part (docs/memory.md)
    }
    text = dialect.paginate(text, static_cast<std::int64_t>(limit), 0);
    auto st = lease->prepare(text);
    st->bind_all(values);
    while (st->step()) hits.emplace_back(st->get_int64(0), st->get_double(1));
    return hits;
  }

  std::vector<RecallResult> recall(std::string_view query, const RecallOptions& o) {
    store::detail::check_utf8("query", query);
    const std::size_t k = o.k.value_or(static_cast<std::size_t>(std::max(1, options.default_k)));
    const std::size_t candidates = o.candidates ? o.candidates : std::max<std::size_t>(4 * k, 20);
    const double half_life = o.half_life_days.value_or(options.half_life_days);
    // The keyword searches run on a thread of their own beside the query's embedding and the
    // vector searches: a recall then waits for the slower of the two, not for their sum. The
    // future is destroyed before anything it refers to, and waits for the thread if the vector
    // side throws.
    using KeywordHits = std::map<Kind, std::vector<std::pair<std::int64_t, double>>>;
    std::future<KeywordHits> keyword_search;
    // No thread where there is no keyword part: a query without words, or SQL Server.
    if (o.use_keywords && backend != Backend::mssql && !query_words(query).empty()) {
      keyword_search = std::async(std::launch::async, [this, query, &o, candidates] {
        KeywordHits out;
        if (o.facts) out[Kind::fact] = keyword_hits(Kind::fact, query, o, candidates);
        if (o.episodes) out[Kind::episode] = keyword_hits(Kind::episode, query, o, candidates);
        return out;
      });
    }
    KeywordHits keyword_results;
    std::optional<std::vector<float>> query_vector;
    try {
      if (o.use_vectors) {
        auto vectors_out = embedder.embed({std::string(query)});
        if (!vectors_out.empty()) query_vector = std::move(vectors_out.front());
      }
    } catch (const Error&) {
      // Embedding server down: keyword results only, each marked as such by its scores.
    }
    const auto now = sql::now_utc();
    std::vector<RecallResult> results;
    std::map<Kind, std::shared_ptr<vector::Collection>> used_collections;
    for (Kind kind : {Kind::fact, Kind::episode}) {
      if ((kind == Kind::fact && !o.facts) || (kind == Kind::episode && !o.episodes)) continue;
      std::map<std::int64_t, ScoreParts> found;
      // One lookup of memory_collections per kind and call: a reindex switching the collection
      // between the two uses below cannot give one query two models.
      std::shared_ptr<vector::Collection> col;
      bool same_model = false;
      try {
        Current in_use = current(kind, std::nullopt);
        col = in_use.collection;
        same_model = in_use.state.model.empty() || in_use.state.model == embedder.model();
        used_collections[kind] = col;
      } catch (const Error&) {
      }
      if (query_vector && col && same_model &&
          static_cast<std::size_t>(col->config().dimension) == query_vector->size()) {
        vector::QueryRequest request;
        request.embeddings = {*query_vector};
        request.n_results = candidates;
        request.where = vector_filter(kind, o);
        request.include = vector::include_distances;
        auto matches = col->query(request).front();
        for (std::size_t i = 0; i < matches.ids.size(); ++i) {
          auto& parts = found[std::stoll(matches.ids[i])];
          parts.vector_rank = i + 1;
          parts.vector_similarity = 1.0 - matches.distances[i];
        }
      }
      if (keyword_search.valid()) keyword_results = keyword_search.get();
      const auto& hits = keyword_results[kind];
      for (std::size_t i = 0; i < hits.size(); ++i) {
        auto& parts = found[hits[i].first];
        parts.keyword_rank = i + 1;
        parts.keyword_score = hits[i].second;
      }
      if (found.empty()) continue;
      std::vector<std::int64_t> ids;
      for (const auto& [id, parts] : found) ids.push_back(id);
      // The rows decide: a vector whose row is gone or no longer matches the filters drops out.
      // The filters are applied here rather than in the SQL: with them in the WHERE clause SQLite
      // (without ANALYZE statistics) scans ix_facts_is_active_category, every active fact,
      // instead of looking up the few candidate ids.
      std::map<std::int64_t, Row> rows;
      {
        auto lease = store.connection_source().acquire();
        rows = load_rows(*lease, kind, ids);
      }
      for (auto& [id, parts] : found) {
        auto row = rows.find(id);
        if (row == rows.end() || !passes_filters(row->second, o)) continue;
        if (parts.vector_rank) parts.rrf += 1.0 / (kRrfK + static_cast<double>(*parts.vector_rank));
        if (parts.keyword_rank) parts.rrf += 1.0 / (kRrfK + static_cast<double>(*parts.keyword_rank));
        parts.importance_weight = 0.5 + std::clamp(row->second.importance, 0.0, 1.0);
        parts.confidence_weight = 0.5 + 0.5 * std::clamp(row->second.confidence, 0.0, 1.0);
        double age_days = std::max(0.0, std::chrono::duration<double>(now - row->second.created_at).count() / 86400.0);
        parts.recency_weight = half_life > 0 ? 0.5 + 0.5 * std::exp2(-age_days / half_life) : 1.0;
        parts.score = parts.rrf * parts.importance_weight * parts.confidence_weight * parts.recency_weight;
        RecallResult result = row->second;
        result.has_vector = parts.vector_rank.has_value();
        result.scores = parts;
        results.push_back(std::move(result));
      }
    }
    std::sort(results.begin(), results.end(), [](const RecallResult& a, const RecallResult& b) {
      if (a.scores.score != b.scores.score) return a.scores.score > b.scores.score;
      if (a.kind != b.kind) return a.kind < b.kind;
      return a.id > b.id;
    });
    if (results.size() > k) results.resize(k);
    // A keyword-only result may still have a vector (beyond the vector candidates): ask.
    for (Kind kind : {Kind::fact, Kind::episode}) {
      vector::GetRequest get;
      get.include = 0;
      for (const auto& r : results)
        if (r.kind == kind && !r.has_vector) get.ids.push_back(std::to_string(r.id));
      if (get.ids.empty()) continue;
      std::set<std::string> have;
      try {
        if (auto col = used_collections[kind]) {
          auto got = col->get(get);
          have.insert(got.ids.begin(), got.ids.end());
        }
      } catch (const Error&) {
      }
      for (auto& r : results)
        if (r.kind == kind && !r.has_vector) r.has_vector = have.count(std::to_string(r.id)) > 0;
    }
    if (o.touch) {
      std::vector<std::int64_t> fact_ids;
      for (const auto& r : results)
        if (r.kind == Kind::fact) fact_ids.push_back(r.id);
      if (!fact_ids.empty()) store.facts().touch(fact_ids);
    }
    return results;
  }
};

Memory::Memory(store::Store& store, vector::VectorStore& vectors, Embedder& embedder, MemoryOptions options)
    : impl_(std::make_unique<Impl>(store, vectors, embedder, options)) {
  if (options.replay_on_open) {
    try {
      impl_->replay = impl_->process(true);
    } catch (const std::exception& error) {
      impl_->replay.last_error = error.what();
    }
  }
  if (options.start_worker) impl_->worker = std::thread([this] { impl_->worker_loop(); });
}

Memory::~Memory() {
  if (impl_ && impl_->worker.joinable()) {
    {
      std::lock_guard lock(impl_->worker_mutex);
      impl_->worker_stop = true;
    }
    impl_->worker_cv.notify_one();
    impl_->worker.join();
  }
}

RememberResult Memory::remember(const store::Fact& fact) {
  Impl::validate(fact);
  auto stored = impl_->write([&](sql::Connection& c) { return impl_->insert_fact(c, fact); });
  return impl_->finish_remember(std::move(stored));
}

bool Memory::update(const store::Fact& fact) {
  Impl::validate(fact);
  bool changed = impl_->write([&](sql::Connection& c) {
    Values values{fact.category,   fact.content,    fact.memory_type, fact.importance, fact.confidence,
                  fact.source,     opt(fact.source_conversation_id),  fact.is_active,  fact.is_private,
                  opt(fact.superseded_by), opt(fact.expires_at), sql::now_utc(), opt(fact.last_accessed), fact.id};
    if (store::detail::execute(c, impl_->tables.facts.update_by_id, values) == 0) return false;
    impl_->enqueue(c, Kind::fact, fact.id);
    return true;
  });
  if (changed) impl_->kick();
  return changed;
}

RememberResult Memory::supersede(std::int64_t old_id, const store::Fact& replacement) {
  Impl::validate(replacement);
  auto stored = impl_->write([&](sql::Connection& c) {
    Values one{old_id};
    if (impl_->ids_where(c, "SELECT " + impl_->q("id") + " FROM " + impl_->q("facts") + " WHERE " + impl_->q("id") + " = ?",
                         one)
            .empty())
      throw Error(ErrorKind::not_found, "supersede: no fact with id " + std::to_string(old_id));
    auto added = impl_->insert_fact(c, replacement);
    Values values{false, added.id, sql::now_utc(), old_id};
    store::detail::execute(c,
                           "UPDATE " + impl_->q("facts") + " SET " + impl_->q("is_active") + " = ?, " +
                               impl_->q("superseded_by") + " = ?, " + impl_->q("updated_at") + " = ? WHERE " +
                               impl_->q("id") + " = ?",
                           values);
    impl_->enqueue(c, Kind::fact, old_id);
    return added;
  });
  return impl_->finish_remember(std::move(stored));
}

store::FactRelationship Memory::link(std::int64_t fact_a, std::int64_t fact_b, const std::string& relationship,
                                     double confidence, std::optional<std::string> note) {
  // Edges have no vectors, so they need no outbox entry; the store's link is one transaction.
  for (auto id : {fact_a, fact_b})
    if (!impl_->store.facts().get(id)) throw Error(ErrorKind::not_found, "link: no fact with id " + std::to_string(id));
  store::FactRelationship edge;
  edge.fact_id_a = fact_a;
  edge.fact_id_b = fact_b;
  edge.relationship = relationship;
  edge.confidence = confidence;
  edge.note = std::move(note);
  return impl_->store.fact_relationships().link(edge);
}

store::Episode Memory::add_episode(const store::Episode& episode) {
  store::detail::check_utf8("episodes.summary", episode.summary);
  store::detail::check_json("episodes.key_fact_ids", episode.key_fact_ids);
  store::detail::check_json("episodes.key_entities", episode.key_entities);
  store::detail::check_finite("episodes.importance", episode.importance);
  auto stored = impl_->write([&](sql::Connection& c) {
    auto& t = impl_->tables.episodes;
    store::Episode s = episode;
    s.updated_at = sql::now_utc();
    Values key{episode.conversation_id};
    auto existing = impl_->ids_where(c, "SELECT " + impl_->q("id") + " FROM " + t.name + " WHERE " +
                                            impl_->q("conversation_id") + " = ?",
                                     key);
    if (existing.empty()) {
      s.created_at = s.updated_at;
      Values values{s.conversation_id, s.summary, s.key_fact_ids, s.key_entities, s.importance, s.created_at,
                    s.updated_at};
      s.id = store::detail::insert_returning_id(c, t, values);
    } else {
      s.id = existing.front();
      Values values{s.summary, s.key_fact_ids, s.key_entities, s.importance, s.updated_at, s.id};
      store::detail::execute(c, t.update_by_id, values);
    }
    impl_->enqueue(c, Kind::episode, s.id);
    return s;
  });
  impl_->kick();
  if (auto reread = impl_->store.episodes().get(stored.id)) return *reread;
  return stored;
}

std::vector<RecallResult> Memory::recall(std::string_view query, const RecallOptions& options) {
  return impl_->recall(query, options);
}

ForgetReceipt Memory::forget_fact(std::int64_t fact_id) {
  return impl_->forget_with("fact " + std::to_string(fact_id),
                            [&](sql::Connection& c, ForgetReceipt& r) { impl_->forget_fact_in(c, fact_id, r); });
}

ForgetReceipt Memory::forget_conversation(std::int64_t conversation_id) {
  auto& m = *impl_;
  return m.forget_with("conversation " + std::to_string(conversation_id), [&](sql::Connection& c, ForgetReceipt& r) {
    Values one{conversation_id};
    for (auto id : m.ids_where(c, "SELECT " + m.q("id") + " FROM " + m.q("facts") + " WHERE " +
                                      m.q("source_conversation_id") + " = ?",
                               one))
      m.forget_fact_in(c, id, r);
    for (auto id : m.ids_where(c, "SELECT " + m.q("id") + " FROM " + m.q("episodes") + " WHERE " +
                                      m.q("conversation_id") + " = ?",
                               one)) {
      Values e{id};
      r.episodes += m.exec(c, "DELETE FROM " + m.q("episodes") + " WHERE " + m.q("id") + " = ?", e);
      m.enqueue(c, Kind::episode, id);
    }
    r.messages += m.exec(c, "DELETE FROM " + m.q("messages") + " WHERE " + m.q("conversation_id") + " = ?", one);
    m.exec(c, "UPDATE " + m.q("audit_log") + " SET " + m.q("conversation_id") + " = NULL WHERE " + m.q("conversation_id") + " = ?", one);
    m.exec(c, "UPDATE " + m.q("contradiction_notes") + " SET " + m.q("conversation_id") + " = NULL WHERE " + m.q("conversation_id") + " = ?", one);
    r.conversations += m.exec(c, "DELETE FROM " + m.q("conversations") + " WHERE " + m.q("id") + " = ?", one);
  });
}

ForgetReceipt Memory::forget(const ForgetFilter& filter) {
  auto& m = *impl_;
  std::string what = "filter";
  std::string where = " WHERE 1 = 1";
  Values values;
  if (filter.category) { where += " AND " + m.q("category") + " = ?"; values.emplace_back(*filter.category); what += " category=" + *filter.category; }
  if (filter.memory_type) { where += " AND " + m.q("memory_type") + " = ?"; values.emplace_back(*filter.memory_type); what += " memory_type=" + *filter.memory_type; }
  if (filter.is_private) { where += " AND " + m.q("is_private") + " = ?"; values.emplace_back(*filter.is_private); what += std::string(" private=") + (*filter.is_private ? "true" : "false"); }
  if (filter.active) { where += " AND " + m.q("is_active") + " = ?"; values.emplace_back(*filter.active); what += std::string(" active=") + (*filter.active ? "true" : "false"); }
  if (filter.created_before) { where += " AND " + m.q("created_at") + " < ?"; values.emplace_back(*filter.created_before); what += " created_before=" + std::to_string(micros(*filter.created_before)) + "us"; }
  if (values.empty()) throw Error(ErrorKind::usage, "forget: an empty filter would forget every fact; name at least one condition");
  return m.forget_with(what, [&](sql::Connection& c, ForgetReceipt& r) {
    for (auto id : m.ids_where(c, "SELECT " + m.q("id") + " FROM " + m.q("facts") + where, values)) m.forget_fact_in(c, id, r);
  });
}

ProcessStats Memory::process_pending(bool ignore_backoff) { return impl_->process(ignore_backoff); }

void Memory::flush() {
  auto stats = impl_->process(true);
  if (stats.pending > 0)
    throw Error(ErrorKind::embedding, std::to_string(stats.pending) + " memory outbox entries still pending: " + stats.last_error);
}

std::size_t Memory::pending_count() { return impl_->count_pending(); }

bool VerifyReport::clean() const {
  return std::all_of(kinds.begin(), kinds.end(), [](const VerifyKind& k) {
    return k.missing.empty() && k.orphans.empty() && k.wrong_model.empty();
  });
}

MemoryStats Memory::stats() { return impl_->memory_stats(); }

VerifyReport Memory::verify() { return impl_->verify(); }

VerifyReport Memory::repair() { return impl_->repair(); }

std::vector<ReindexResult> Memory::reindex(std::optional<std::string> collection, std::optional<std::string> model,
                                           const ReindexOptions& options) {
  return impl_->reindex(collection, model, options);
}

std::optional<std::string> Memory::current_collection_for(std::string_view base_name) {
  Kind kind;
  if (base_name == kFactsCollection) {
    kind = Kind::fact;
  } else if (base_name == kEpisodesCollection) {
    kind = Kind::episode;
  } else {
    return std::nullopt;
  }
  const auto state = impl_->read_state(kind);
  if (state.generation == 0 || state.collection.empty()) return std::string(base_name);
  return state.collection;
}

const ProcessStats& Memory::replay_stats() const { return impl_->replay; }

}  // namespace lunadb::memory
