// VectorStore / Collection on PostgreSQL + pgvector: one catalog table and one table per
// collection (docs/vector-store.md, "The pgvector backend"). Every call validates with the
// embedded store's rules first, then runs in one transaction on a pooled connection, with
// unnamed statements only (pgbouncer transaction mode).

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "pgvector/filter_sql.hpp"
#include "pgvector/schema.hpp"
#include "pgvector/sql_text.hpp"
#include "sql/driver.hpp"
#include "sql/pool.hpp"
#include "vector/filter.hpp"
#include "vector/validation.hpp"

namespace lunadb::pgvector {

namespace {

using vector::Collection;
using vector::CollectionConfig;
using vector::Distance;
using vector::Json;
using vector::detail::Filter;

// pgvector refuses hnsw.ef_search above 1000.
constexpr std::size_t kMaxEfSearch = 1000;

const char* operator_of(Distance d) {
  switch (d) {
    case Distance::cosine: return "<=>";
    case Distance::l2: return "<->";
    case Distance::ip: return "<#>";
  }
  return "<=>";
}
std::string opclass_of(Distance d, const std::string& type) {
  switch (d) {
    case Distance::cosine: return type + "_cosine_ops";
    case Distance::l2: return type + "_l2_ops";
    case Distance::ip: return type + "_ip_ops";
  }
  return type + "_cosine_ops";
}
// pgvector's operator value -> the embedded store's distance: <-> is the Euclidean distance (the
// embedded store reports it squared), <#> is the negated dot product (the embedded ip is 1 - dot).
float embedded_distance(Distance d, double pg) {
  if (d == Distance::l2) return static_cast<float>(pg * pg);
  if (d == Distance::ip) return static_cast<float>(1.0 + pg);
  return static_cast<float>(pg);
}

std::string table_of(std::int64_t id) { return "lunadb_vectors_" + std::to_string(id); }

// A JSON array of the ids, bound once and unnested in SQL: any number of ids in one parameter.
std::string ids_json(const std::vector<std::string>& ids) { return Json(ids).dump(); }

struct Shared {
  std::unique_ptr<sql::ConnectionSource> pool;
  DbUrl url;
};

class PgCollection final : public Collection {
 public:
  // `type`: the embedding column's type, vector or halfvec. Vectors are read back cast to vector
  // (halfvec's binary form differs), so the rest is the same for both. Added (binary COPY) and
  // queried, vector columns take vector_recv's binary form; updates and halfvec columns take text.
  PgCollection(std::shared_ptr<Shared> shared, std::int64_t id, CollectionConfig config, std::string type)
      : shared_(std::move(shared)), id_(id), config_(std::move(config)), table_(table_of(id_)), type_(std::move(type)) {}

  const CollectionConfig& config() const override { return config_; }

  void add(const std::vector<vector::Record>& records) override { put(records, false); }
  void upsert(const std::vector<vector::Record>& records) override { put(records, true); }

  std::size_t update(const std::vector<vector::RecordUpdate>& updates) override {
    vector::detail::validate_updates(config_, updates);
    if (updates.empty()) return 0;
    std::string text = "[";
    for (std::size_t i = 0; i < updates.size(); ++i) {
      const auto& u = updates[i];
      text += (i ? "," : "") + payload_row(u.id, u.embedding ? &*u.embedding : nullptr, u.document, u.metadata);
    }
    text += "]";
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    lock_writes(*lease);
    auto st = lease->prepare("UPDATE " + table_ + " AS t SET embedding = COALESCE((x->>'e')::" + type_ + ", t.embedding), " +
                             "document = COALESCE(x->>'d', t.document), metadata = " + merged("t.metadata", "x->'m'") +
                             " FROM jsonb_array_elements(?::jsonb) AS x WHERE t.record_id = x->>'i'");
    st->bind(1, text);
    const auto changed = run(*st);
    tx.commit();
    return static_cast<std::size_t>(changed);
  }

  std::size_t remove(const vector::DeleteRequest& request) override {
    vector::detail::validate_delete(config_, request);
    Filter filter = Filter::compile(request.where, request.where_document);
    SqlCondition condition = translate(filter);
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    lock_writes(*lease);
    std::int64_t removed = 0;
    if (condition.needs_client_check) {
      std::vector<std::string> doomed = client_filtered_rids(*lease, request.ids, filter, condition);
      if (!doomed.empty()) {
        auto st = lease->prepare("DELETE FROM " + table_ + " WHERE rid IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)");
        st->bind(1, ids_json(doomed));
        removed = run(*st);
      }
    } else {
      std::vector<sql::Value> params;
      std::string sql = "DELETE FROM " + table_ + " WHERE " + restriction(request.ids, condition, params);
      auto st = lease->prepare(sql);
      st->bind_all(params);
      removed = run(*st);
    }
    tx.commit();
    return static_cast<std::size_t>(removed);
  }

  vector::GetResult get(const vector::GetRequest& request) const override {
    Filter filter = Filter::compile(request.where, request.where_document);
    SqlCondition condition = translate(filter);
    const bool client = condition.needs_client_check;
    std::vector<sql::Value> params;
    std::string sql = "SELECT record_id, embedding::vector, document, metadata FROM " + table_ + " WHERE " +
                      restriction(request.ids, condition, params) + " ORDER BY rid";
    if (!client) {
      if (request.limit) {
        sql += " LIMIT ?";
        params.emplace_back(static_cast<std::int64_t>(*request.limit));
      }
      if (request.offset > 0) {
        sql += " OFFSET ?";
        params.emplace_back(static_cast<std::int64_t>(request.offset));
      }
    }
    auto lease = shared_->pool->acquire();
    auto st = prepare(*lease, sql);
    st->bind_all(params);
    vector::GetResult result;
    std::size_t matched = 0;
    const std::size_t end = request.limit ? request.offset + *request.limit : SIZE_MAX;
    while (step(*st)) {
      Json metadata = st->is_null(3) ? Json() : Json::parse(st->get_text(3));
      std::optional<std::string> document = st->get_optional_text(2);
      if (client) {
        if (!filter.matches(metadata, document)) continue;
        const std::size_t position = matched++;
        if (position < request.offset) continue;
        if (position >= end) break;
      }
      result.ids.push_back(st->get_text(0));
      if (request.include & vector::include_embeddings) result.embeddings.push_back(parse_binary_vector(st->get_blob(1)));
      if (request.include & vector::include_documents) result.documents.push_back(std::move(document));
      if (request.include & vector::include_metadatas) result.metadatas.push_back(std::move(metadata));
    }
    return result;
  }

  std::vector<vector::Matches> query(const vector::QueryRequest& request) const override {
    vector::detail::validate_query(config_, request);
    Filter filter = Filter::compile(request.where, request.where_document);
    SqlCondition condition = translate(filter);
    const bool restricted = !request.ids.empty() || !filter.empty();
    const std::size_t k = request.n_results;
    const std::size_t ef = std::min(kMaxEfSearch, request.ef_search ? std::max(*request.ef_search, k)
                                                                    : std::max<std::size_t>(config_.index.ef_search, 2 * k));
    auto lease = shared_->pool->acquire();
    // SET LOCAL keeps the settings inside the query's transaction, so that pgbouncer's next client
    // on this server connection never inherits them.
    std::vector<std::string> setup{"SET LOCAL hnsw.ef_search = " + std::to_string(std::max<std::size_t>(ef, 1))};
    // pgvector 0.8: a filtered index scan goes on until it has k matching rows (or hits
    // hnsw.max_scan_tuples); relaxed_order may return them slightly out of order, re-sorted below.
    if (restricted) setup.emplace_back("SET LOCAL hnsw.iterative_scan = relaxed_order");
    if (request.exact || condition.needs_client_check) setup.emplace_back("SET LOCAL enable_indexscan = off");
    std::vector<vector::Matches> results;
    if (condition.needs_client_check) {
      // The RE2 part is checked here; the search then runs exactly over the rows that passed, all
      // in one transaction so that the rows checked are the rows searched.
      sql::Transaction tx(*lease, begin_with(setup));
      std::vector<std::string> rids = client_filtered_rids(*lease, request.ids, filter, condition);
      if (rids.empty()) return std::vector<vector::Matches>(request.embeddings.size());
      std::vector<sql::Value> params;
      params.emplace_back(ids_json(rids));
      const std::string where = "rid IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)";
      for (const auto& q : request.embeddings) results.push_back(to_matches(search(*lease, q, k, where, params, request.include), request.include));
      tx.commit();
      return results;
    }
    std::vector<sql::Value> params;
    const std::string where = restriction(request.ids, condition, params);
    // Each query embedding is a transaction of its own, BEGIN to COMMIT in one round trip.
    for (const auto& q : request.embeddings) {
      auto hits = search(*lease, q, k, where, params, request.include, &setup);
      if (restricted && hits.size() < k && !request.exact) {
        // The index scan gave up before k matches: an exact scan finds all there are.
        std::vector<std::string> exact = setup;
        exact.emplace_back("SET LOCAL enable_indexscan = off");
        hits = search(*lease, q, k, where, params, request.include, &exact);
      }
      results.push_back(to_matches(std::move(hits), request.include));
    }
    return results;
  }

  std::size_t count() const override {
    auto lease = shared_->pool->acquire();
    auto st = prepare(*lease, "SELECT count(*) FROM " + table_);
    step(*st);
    return static_cast<std::size_t>(st->get_int64(0));
  }

  vector::CollectionStats stats() const override {
    vector::CollectionStats s;
    s.name = config_.name;
    s.count = count();
    s.hnsw_active = true;
    s.index_elements = s.count;
    s.search_ef = static_cast<std::size_t>(config_.index.ef_search);
    s.search_plan = "pgvector hnsw on " + type_ + " (m " + std::to_string(config_.index.m) + ", ef_construction " +
                    std::to_string(config_.index.ef_construction) + "), ef_search max(" + std::to_string(config_.index.ef_search) +
                    ", 2k); filtered queries scan the index iteratively, or exactly when it falls short";
    return s;
  }

  void flush() override {}  // every write is committed before it returns

 private:
  struct Hit {
    float distance;
    std::string id;
    std::vector<float> embedding;
    std::optional<std::string> document;
    Json metadata;
  };

  // The table missing means another handle (or process) deleted the collection.
  [[noreturn]] void rethrow(const DatabaseError& e) const {
    if (e.native_code() == "42P01") throw Error(ErrorKind::usage, "collection '" + config_.name + "' was deleted");
    throw;
  }
  std::unique_ptr<sql::Statement> prepare(sql::Connection& c, const std::string& sql) const { return c.prepare(sql); }
  bool step(sql::Statement& st) const {
    try {
      return st.step();
    } catch (const DatabaseError& e) {
      rethrow(e);
    }
  }
  std::int64_t run(sql::Statement& st) const {
    try {
      return st.execute();
    } catch (const DatabaseError& e) {
      rethrow(e);
    }
  }

  // Serialises writers of this collection across processes: an add's check for existing ids and
  // its insert then see the same rows. Released at commit or rollback.
  void lock_writes(sql::Connection& c) const {
    auto st = c.prepare("SELECT pg_advisory_xact_lock(?)");
    st->bind(1, std::int64_t{0x4C554E41'00000000LL} + id_);
    st->step();
  }

  // One record of a write's payload: {"i": id, "e": vector text, "d": document, "m": metadata},
  // absent fields left out. The metadata goes in as exact_json, not through the Json dumper.
  static std::string payload_row(const std::string& id, const std::vector<float>* embedding, const std::optional<std::string>& document,
                                 const Json& metadata) {
    Json row = {{"i", id}};
    if (embedding) row["e"] = vector_literal(*embedding);
    if (document) row["d"] = *document;
    std::string text = row.dump();
    if (metadata.is_object()) text = text.substr(0, text.size() - 1) + ",\"m\":" + exact_json(metadata) + "}";
    return text;
  }

  // The metadata patch `patch` (jsonb or NULL) merged into `base`: null values remove keys, and
  // nothing left is NULL, as merge_metadata() does.
  static std::string merged(const std::string& base, const std::string& patch) {
    return "NULLIF(jsonb_strip_nulls(COALESCE(" + base + ", '{}'::jsonb) || COALESCE(" + patch + ", '{}'::jsonb)), '{}'::jsonb)";
  }

  std::string restriction(const std::vector<std::string>& ids, const SqlCondition& condition, std::vector<sql::Value>& params) const {
    std::string text = condition.text;
    params.insert(params.end(), condition.params.begin(), condition.params.end());
    if (!ids.empty()) {
      text = "record_id IN (SELECT jsonb_array_elements_text(?::jsonb)) AND " + text;
      params.insert(params.begin(), sql::Value(ids_json(ids)));
    }
    return text;
  }

  // Rows passing the SQL part, then the whole filter (with its RE2 parts) here: their rids.
  std::vector<std::string> client_filtered_rids(sql::Connection& c, const std::vector<std::string>& ids, const Filter& filter,
                                                const SqlCondition& condition) const {
    std::vector<sql::Value> params;
    auto st = prepare(c, "SELECT rid, document, metadata FROM " + table_ + " WHERE " + restriction(ids, condition, params));
    st->bind_all(params);
    std::vector<std::string> rids;
    while (step(*st)) {
      Json metadata = st->is_null(2) ? Json() : Json::parse(st->get_text(2));
      if (filter.matches(metadata, st->get_optional_text(1))) rids.push_back(std::to_string(st->get_int64(0)));
    }
    return rids;
  }

  static std::string begin_with(const std::vector<std::string>& setup) {
    std::string sql = "BEGIN";
    for (const auto& statement : setup) sql += "; " + statement;
    return sql;
  }

  // With `own_transaction_setup`, the search runs in a transaction of its own opened with those
  // settings (PostgreSQL's driver always has that path); without, in the caller's.
  std::vector<Hit> search(sql::Connection& c, const std::vector<float>& q, std::size_t k, const std::string& where,
                          const std::vector<sql::Value>& where_params, unsigned include,
                          const std::vector<std::string>* own_transaction_setup = nullptr) const {
    std::string sql = "SELECT record_id, embedding " + std::string(operator_of(config_.distance)) + " ?::" + type_ + " AS distance";
    sql += (include & vector::include_embeddings) ? ", embedding::vector" : ", NULL";
    sql += (include & vector::include_documents) ? ", document" : ", NULL";
    sql += (include & vector::include_metadatas) ? ", metadata" : ", NULL";
    sql += " FROM " + table_ + " WHERE " + where + " ORDER BY 2 LIMIT ?";
    auto st = own_transaction_setup ? c.prepare_in_own_transaction(*own_transaction_setup, sql) : prepare(c, sql);
    if (!st) throw Error(ErrorKind::internal, "the PostgreSQL driver has no statement in its own transaction for " + table_);
    int n = 1;
    if (type_ == "vector") {
      // In vector_recv's form: neither side formats or parses 768 floats as text.
      sql::Blob binary = binary_vector(q);
      binary.of_cast_type = true;
      st->bind(n++, binary);
    } else {
      st->bind(n++, vector_literal(q));  // halfvec: the server rounds the floats itself
    }
    for (const auto& p : where_params) st->bind(n++, p);
    st->bind(n, static_cast<std::int64_t>(k));
    std::vector<Hit> hits;
    while (step(*st)) {
      Hit h;
      h.id = st->get_text(0);
      h.distance = embedded_distance(config_.distance, st->get_double(1));
      if (!st->is_null(2)) h.embedding = parse_binary_vector(st->get_blob(2));
      h.document = st->get_optional_text(3);
      if (!st->is_null(4)) h.metadata = Json::parse(st->get_text(4));
      hits.push_back(std::move(h));
    }
    std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.distance < b.distance; });
    return hits;
  }

  static vector::Matches to_matches(std::vector<Hit> hits, unsigned include) {
    vector::Matches m;
    for (auto& h : hits) {
      m.ids.push_back(std::move(h.id));
      if (include & vector::include_distances) m.distances.push_back(h.distance);
      if (include & vector::include_embeddings) m.embeddings.push_back(std::move(h.embedding));
      if (include & vector::include_documents) m.documents.push_back(std::move(h.document));
      if (include & vector::include_metadatas) m.metadatas.push_back(std::move(h.metadata));
    }
    return m;
  }

  void put(const std::vector<vector::Record>& records, bool upsert) {
    const char* op = upsert ? "upsert" : "add";
    vector::detail::validate_records(config_, records, op);
    if (records.empty()) return;
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    lock_writes(*lease);
    try {
      if (upsert) {
        upsert_locked(*lease, records);
      } else {
        add_locked(*lease, records, op);
      }
    } catch (const DatabaseError& e) {
      if (e.native_code() == "23505") throw Error(ErrorKind::constraint, std::string(op) + " to '" + config_.name + "': " + e.what());
      rethrow(e);
    }
    tx.commit();
  }

  // Under the write lock no other writer can add an id between the check and the COPY, so the
  // new rows stream straight into the table in call order (rid, the get() order), with none of a
  // jsonb payload's parsing. A `vector` column is loaded by binary COPY: pgvector's binary form
  // is the floats' own bits, where text would cost a float-to-text conversion here and a parse on
  // the server for each of d numbers. A `halfvec` column takes text, so that the float-to-half
  // rounding and its range errors stay pgvector's own.
  void add_locked(sql::Connection& c, const std::vector<vector::Record>& records, const char* op) {
    std::vector<std::string> ids;
    ids.reserve(records.size());
    for (const auto& r : records) ids.push_back(r.id);
    auto existing = prepare(c, "SELECT record_id FROM " + table_ + " WHERE record_id IN (SELECT jsonb_array_elements_text(?::jsonb))");
    existing->bind(1, ids_json(ids));
    std::unordered_set<std::string> present;
    while (step(*existing)) present.insert(existing->get_text(0));
    for (const auto& r : records) {
      if (present.count(r.id)) throw Error(ErrorKind::constraint, vector::detail::id_exists_message(config_, op, r.id));
    }
    static const std::string columns[] = {"record_id", "embedding", "document", "metadata"};
    std::vector<sql::Value> values;
    values.reserve(records.size() * std::size(columns));
    const bool binary = type_ == "vector";
    for (const auto& r : records) {
      values.emplace_back(r.id);
      if (binary) {
        values.emplace_back(binary_vector(r.embedding));
      } else {
        values.emplace_back(vector_literal(r.embedding));
      }
      if (r.document) {
        values.emplace_back(*r.document);
      } else {
        values.emplace_back(std::monostate{});
      }
      // A null value in an add means "no such key", as in the embedded store.
      const Json metadata = vector::detail::normalise_metadata(r.metadata);
      if (!metadata.is_object()) {
        values.emplace_back(std::monostate{});
      } else if (binary) {
        values.emplace_back(binary_jsonb(exact_json(metadata)));
      } else {
        values.emplace_back(exact_json(metadata));
      }
    }
    const auto format = binary ? sql::Connection::CopyFormat::binary : sql::Connection::CopyFormat::text;
    if (!c.copy_rows(table_, columns, values, format)) {
      throw Error(ErrorKind::internal, "the PostgreSQL driver has no COPY for " + table_);
    }
  }

  void upsert_locked(sql::Connection& c, const std::vector<vector::Record>& records) {
    std::string text = "[";
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      text += (i ? "," : "") + payload_row(r.id, &r.embedding, r.document, r.metadata);
    }
    text += "]";
    auto st = prepare(c, "UPDATE " + table_ + " AS t SET embedding = (x->>'e')::" + type_ + ", document = COALESCE(x->>'d', t.document), " +
                             "metadata = " + merged("t.metadata", "x->'m'") +
                             " FROM jsonb_array_elements(?::jsonb) AS x WHERE t.record_id = x->>'i'");
    st->bind(1, text);
    run(*st);
    // In call order, so that rid (the get() order) follows the order records were given in.
    auto insert = prepare(c, "INSERT INTO " + table_ + " (record_id, embedding, document, metadata) SELECT x->>'i', (x->>'e')::" + type_ +
                                 ", x->>'d', " + merged("NULL", "x->'m'") + " FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS p(x, n)" +
                                 " WHERE NOT EXISTS (SELECT 1 FROM " + table_ + " AS t WHERE t.record_id = x->>'i') ORDER BY n");
    insert->bind(1, text);
    run(*insert);
  }

  std::shared_ptr<Shared> shared_;
  const std::int64_t id_;
  const CollectionConfig config_;
  const std::string table_;
  const std::string type_;
};

class PgStore final : public vector::VectorStore {
 public:
  explicit PgStore(const Settings& settings) : shared_(std::make_shared<Shared>()) {
    Settings pooled = settings;
    pooled.db = settings.vector_db;
    shared_->url = settings.vector_db;
    new_type_ = settings.vector_halfvec ? "halfvec" : "vector";
    shared_->pool = sql::make_connection_source(pooled);
    auto lease = acquire_for_open();
    upgrade_schema(*lease, shared_->url);
  }

  std::shared_ptr<Collection> create_collection(const CollectionConfig& config) override {
    vector::detail::validate_collection_config(config);
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    auto created = create_locked(*lease, config);
    tx.commit();
    return created;
  }

  std::shared_ptr<Collection> get_collection(std::string_view name) override {
    auto lease = shared_->pool->acquire();
    auto found = find(*lease, name);
    if (!found) throw Error(ErrorKind::not_found, "collection '" + std::string(name) + "' does not exist");
    return found;
  }

  std::shared_ptr<Collection> get_or_create_collection(const CollectionConfig& config) override {
    vector::detail::validate_collection_config(config);
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    lease->execute("LOCK TABLE lunadb_vector_collections IN SHARE ROW EXCLUSIVE MODE");
    if (auto found = find(*lease, config.name)) {
      const auto& existing = found->config();
      if (existing.dimension != config.dimension || existing.distance != config.distance ||
          existing.embedding_model != config.embedding_model) {
        throw Error(ErrorKind::invalid_argument, vector::detail::collection_mismatch_message(existing, config));
      }
      return found;
    }
    auto created = create_locked(*lease, config);
    tx.commit();
    return created;
  }

  void delete_collection(std::string_view name) override {
    auto lease = shared_->pool->acquire();
    sql::Transaction tx(*lease);
    auto st = lease->prepare("DELETE FROM lunadb_vector_collections WHERE name = ? RETURNING id");
    st->bind(1, std::string(name));
    if (!st->step()) throw Error(ErrorKind::not_found, "collection '" + std::string(name) + "' does not exist");
    const auto id = st->get_int64(0);
    st.reset();
    lease->execute("DROP TABLE IF EXISTS " + table_of(id));
    tx.commit();
  }

  std::vector<CollectionConfig> list_collections() const override {
    auto lease = shared_->pool->acquire();
    auto st = lease->prepare(std::string(kSelectCatalog) + " ORDER BY name");
    std::vector<CollectionConfig> out;
    while (st->step()) out.push_back(read_config(*st));
    return out;
  }

  void flush() override {}
  const std::filesystem::path& directory() const override { return no_directory_; }

 private:
  static constexpr const char* kSelectCatalog =
      "SELECT id, name, dimension, distance, hnsw_m, ef_construction, ef_search, embedding_model, element_type FROM "
      "lunadb_vector_collections";

  static CollectionConfig read_config(sql::Statement& st) {
    CollectionConfig c;
    c.name = st.get_text(1);
    c.dimension = static_cast<int>(st.get_int64(2));
    c.distance = vector::parse_distance(st.get_text(3));
    c.index.m = static_cast<int>(st.get_int64(4));
    c.index.ef_construction = static_cast<int>(st.get_int64(5));
    c.index.ef_search = static_cast<int>(st.get_int64(6));
    c.embedding_model = st.get_text(7);
    return c;
  }

  sql::Lease acquire_for_open() {
    try {
      return shared_->pool->acquire();
    } catch (const Error& e) {
      throw Error(e.kind(), "VECTOR_BACKEND=pgvector: cannot connect to " + where_of(shared_->url) + ": " + e.what());
    }
  }

  std::shared_ptr<Collection> find(sql::Connection& c, std::string_view name) {
    auto st = c.prepare(std::string(kSelectCatalog) + " WHERE name = ?");
    st->bind(1, std::string(name));
    if (!st->step()) return nullptr;
    return std::make_shared<PgCollection>(shared_, st->get_int64(0), read_config(*st), st->get_text(8));
  }

  std::shared_ptr<Collection> create_locked(sql::Connection& c, const CollectionConfig& config) {
    auto st = c.prepare(
        "INSERT INTO lunadb_vector_collections (name, dimension, distance, hnsw_m, ef_construction, ef_search, embedding_model, "
        "element_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id");
    st->bind_all(std::vector<sql::Value>{config.name, std::int64_t{config.dimension}, std::string(vector::to_string(config.distance)),
                                         std::int64_t{config.index.m}, std::int64_t{config.index.ef_construction},
                                         std::int64_t{config.index.ef_search}, config.embedding_model, new_type_});
    if (!st->step()) throw Error(ErrorKind::constraint, "collection '" + config.name + "' already exists");
    const auto id = st->get_int64(0);
    st.reset();
    const std::string table = table_of(id);
    // rid: insertion order (get() returns records in it), kept by upserts and updates.
    c.execute("CREATE TABLE " + table + " (rid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record_id text NOT NULL UNIQUE, " +
              "embedding " + new_type_ + "(" + std::to_string(config.dimension) + ") NOT NULL, document text, metadata jsonb)");
    c.execute("CREATE INDEX " + table + "_hnsw ON " + table + " USING hnsw (embedding " + opclass_of(config.distance, new_type_) +
              ") WITH (m = " + std::to_string(config.index.m) + ", ef_construction = " + std::to_string(config.index.ef_construction) + ")");
    return std::make_shared<PgCollection>(shared_, id, config, new_type_);
  }

  std::shared_ptr<Shared> shared_;
  std::string new_type_;  // VECTOR_PG_TYPE, for collections this store creates
  std::filesystem::path no_directory_;
};

}  // namespace
}  // namespace lunadb::pgvector

namespace lunadb::vector {

std::unique_ptr<VectorStore> open_pgvector_store(const Settings& settings) {
  if (settings.vector_db.backend != Backend::postgresql) {
    throw Error(ErrorKind::config, "VECTOR_BACKEND=pgvector needs VECTOR_URL (a postgresql:// URL), or a PostgreSQL DB_URL to default to");
  }
  return std::make_unique<pgvector::PgStore>(settings);
}

std::vector<std::string> upgrade_pgvector_schema(const Settings& settings, const std::function<void(const std::string&)>& log) {
  if (settings.vector_backend != VectorBackend::pgvector) {
    throw Error(ErrorKind::config, "the vector schema chain applies only with VECTOR_BACKEND=pgvector");
  }
  Settings pooled = settings;
  pooled.db = settings.vector_db;
  auto source = sql::make_connection_source(pooled);
  std::optional<sql::Lease> lease;
  try {
    lease.emplace(source->acquire());
  } catch (const Error& e) {
    throw Error(e.kind(), "VECTOR_BACKEND=pgvector: cannot connect to " + pgvector::where_of(settings.vector_db) + ": " + e.what());
  }
  return pgvector::upgrade_schema(**lease, settings.vector_db, log);
}

std::unique_ptr<VectorStore> open_configured_store(const Settings& settings, const OpenOptions& options) {
  if (settings.vector_backend == VectorBackend::pgvector) return open_pgvector_store(settings);
  return VectorStore::open(settings.chroma_path, options);
}

}  // namespace lunadb::vector
