#include "vector/record_db.hpp"

#include <cstring>

#include "lunadb/error.hpp"

namespace lunadb::vector::detail {

namespace {

// 1: one `records` table with the embedding inline. 2: embeddings in their own table, so that
// scanning the records on open does not read every vector (version 1 is migrated on open).
constexpr int kSchemaVersion = 2;

constexpr const char* kCommonSchema[] = {
    "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS collections ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, dimension INTEGER NOT NULL,"
    " distance TEXT NOT NULL, hnsw_m INTEGER NOT NULL, ef_construction INTEGER NOT NULL,"
    " ef_search INTEGER NOT NULL, embedding_model TEXT NOT NULL)",
};

constexpr const char* kRecordsV2[] = {
    "CREATE TABLE records ("
    " rid INTEGER PRIMARY KEY,"
    " collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    " record_id TEXT NOT NULL, seq INTEGER NOT NULL, added_seq INTEGER NOT NULL,"
    " document TEXT, metadata TEXT,"
    " UNIQUE (collection_id, record_id))",
    // foreign_keys is on (the SQLite driver sets it): deleting a record deletes its embedding.
    "CREATE TABLE embeddings ("
    " rid INTEGER PRIMARY KEY REFERENCES records(rid) ON DELETE CASCADE,"
    " vector BLOB NOT NULL)",
};


}  // namespace

void RecordDb::rethrow_damaged(const std::exception& e, const std::string& during) const {
  if (const auto* error = dynamic_cast<const Error*>(&e); error && error->kind() != ErrorKind::corrupt) {
    throw Error(error->kind(), "vector records database " + file_.string() + " (" + during + "): " + e.what());
  }
  throw Error(ErrorKind::corrupt, "vector records database " + file_.string() + " is damaged (" + during + "): " + e.what() +
                                      "; restore it from a backup (the index files are rebuilt from it)");
}

RecordDb::RecordDb(const std::filesystem::path& file) : file_(file) {
  try {
    DbUrl url;
    url.backend = Backend::sqlite;
    url.dialect = "sqlite";
    url.database = file.string();
    sql::ConnectOptions options;
    options.busy_timeout_ms = 5000;
    connection_ = sql::open_connection(url, options);
    // WAL + NORMAL survives a process crash but may lose the last commits on power loss; an
    // acknowledged vector write must survive both, so every commit syncs the WAL.
    connection_->execute("PRAGMA synchronous = FULL");
    // A batch of a thousand 768-d vectors is ~750 pages: checkpointing every 1000 pages (the
    // default) would copy the WAL back almost every call; 16 MB keeps it to one in five.
    connection_->execute("PRAGMA wal_autocheckpoint = 4096");
    // A removed record's document, metadata and embedding are zeroed, not left in freed page
    // space: forgetting a memory removes it from the file too (copies in the WAL last until it
    // restarts after a checkpoint). Adds cost the same; a delete also writes its freed pages' zeros.
    connection_->execute("PRAGMA secure_delete = ON");
    sql::Transaction tx(*connection_);
    for (const char* statement : kCommonSchema) connection_->execute(statement);
    auto version = connection_->prepare("SELECT value FROM store_meta WHERE key = 'schema_version'");
    std::optional<std::int64_t> found;
    if (version->step()) found = version->get_int64(0);
    version.reset();
    if (!found) {
      for (const char* statement : kRecordsV2) connection_->execute(statement);
      connection_->execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', " + std::to_string(kSchemaVersion) +
                           "), ('last_seq', 0)");
    } else if (*found == 1) {
      migrate_from_v1();
    } else if (*found != kSchemaVersion) {
      throw Error(ErrorKind::unsupported, "vector records database " + file_.string() + " has schema version " +
                                              std::to_string(*found) + "; this lunadb reads versions 1 and " +
                                              std::to_string(kSchemaVersion));
    }
    auto seq = connection_->prepare("SELECT value FROM store_meta WHERE key = 'last_seq'");
    if (!seq->step()) throw Error(ErrorKind::corrupt, "store_meta has no last_seq row");
    last_seq_ = seq->get_int64(0);
    seq.reset();
    tx.commit();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::unsupported || e.kind() == ErrorKind::busy) throw;
    rethrow_damaged(e, "opening");
  }
}

// Inside the opening transaction: a crash part-way leaves the version 1 file untouched.
void RecordDb::migrate_from_v1() {
  connection_->execute("ALTER TABLE records RENAME TO records_v1");
  for (const char* statement : kRecordsV2) connection_->execute(statement);
  // Keeping the rowid keeps the rid stable; index snapshots are rebuilt anyway (format 2).
  connection_->execute(
      "INSERT INTO records (rid, collection_id, record_id, seq, added_seq, document, metadata)"
      " SELECT rowid, collection_id, record_id, seq, added_seq, document, metadata FROM records_v1");
  connection_->execute("INSERT INTO embeddings (rid, vector) SELECT rowid, embedding FROM records_v1");
  connection_->execute("DROP TABLE records_v1");
  connection_->execute("UPDATE store_meta SET value = " + std::to_string(kSchemaVersion) + " WHERE key = 'schema_version'");
}

std::vector<StoredCollection> RecordDb::collections() {
  std::vector<StoredCollection> out;
  try {
    auto st = connection_->prepare(
        "SELECT id, name, dimension, distance, hnsw_m, ef_construction, ef_search, embedding_model FROM collections ORDER BY name");
    while (st->step()) {
      StoredCollection c;
      c.id = st->get_int64(0);
      c.config.name = st->get_text(1);
      c.config.dimension = static_cast<int>(st->get_int64(2));
      c.config.distance = parse_distance(st->get_text(3));
      c.config.index.m = static_cast<int>(st->get_int64(4));
      c.config.index.ef_construction = static_cast<int>(st->get_int64(5));
      c.config.index.ef_search = static_cast<int>(st->get_int64(6));
      c.config.embedding_model = st->get_text(7);
      out.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    rethrow_damaged(e, "reading collections");
  }
  return out;
}

void RecordDb::set_last_seq(std::int64_t seq) {
  auto st = connection_->prepare("UPDATE store_meta SET value = ? WHERE key = 'last_seq'");
  st->bind(1, seq);
  st->execute();
}

std::int64_t RecordDb::create_collection(const CollectionConfig& config) {
  sql::Transaction tx(*connection_);
  auto st = connection_->prepare(
      "INSERT INTO collections (name, dimension, distance, hnsw_m, ef_construction, ef_search, embedding_model)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)");
  st->bind(1, config.name);
  st->bind(2, std::int64_t{config.dimension});
  st->bind(3, std::string(to_string(config.distance)));
  st->bind(4, std::int64_t{config.index.m});
  st->bind(5, std::int64_t{config.index.ef_construction});
  st->bind(6, std::int64_t{config.index.ef_search});
  st->bind(7, config.embedding_model);
  st->execute();
  st.reset();
  auto id = connection_->last_insert_id();
  tx.commit();
  return id;
}

void RecordDb::delete_collection(std::int64_t collection_id) {
  sql::Transaction tx(*connection_);
  // Embeddings go with their records (ON DELETE CASCADE).
  for (const char* text : {"DELETE FROM records WHERE collection_id = ?", "DELETE FROM collections WHERE id = ?"}) {
    auto st = connection_->prepare(text);
    st->bind(1, collection_id);
    st->execute();
  }
  tx.commit();
}

void RecordDb::load_records(std::int64_t collection_id, const std::function<void(StoredRecord&&)>& sink) {
  try {
    auto st = connection_->prepare(
        "SELECT rid, record_id, seq, added_seq, document, metadata FROM records WHERE collection_id = ?");
    st->bind(1, collection_id);
    while (st->step()) {
      StoredRecord r;
      r.rid = st->get_int64(0);
      r.id = st->get_text(1);
      r.seq = st->get_int64(2);
      r.added_seq = st->get_int64(3);
      r.document = st->get_optional_text(4);
      if (auto text = st->get_optional_text(5)) r.metadata = Json::parse(*text);
      sink(std::move(r));
    }
  } catch (const std::exception& e) {
    rethrow_damaged(e, "reading records");
  }
}

void RecordDb::checked_embedding(const sql::Blob& blob, int dimension, std::int64_t rid) const {
  if (blob.bytes.size() != static_cast<std::size_t>(dimension) * sizeof(float)) {
    throw Error(ErrorKind::corrupt, "the embedding of record row " + std::to_string(rid) + " has " +
                                        std::to_string(blob.bytes.size()) + " bytes, expected " +
                                        std::to_string(static_cast<std::size_t>(dimension) * sizeof(float)));
  }
}

void RecordDb::load_embeddings(std::int64_t collection_id, int dimension,
                               const std::function<void(std::int64_t, const float*)>& sink) {
  try {
    auto st = connection_->prepare(
        "SELECT e.rid, e.vector FROM records r JOIN embeddings e ON e.rid = r.rid WHERE r.collection_id = ?");
    st->bind(1, collection_id);
    std::vector<float> v(static_cast<std::size_t>(dimension));
    while (st->step()) {
      const std::int64_t rid = st->get_int64(0);
      auto blob = st->get_blob(1);
      checked_embedding(blob, dimension, rid);
      std::memcpy(v.data(), blob.bytes.data(), blob.bytes.size());
      sink(rid, v.data());
    }
  } catch (const std::exception& e) {
    rethrow_damaged(e, "reading embeddings");
  }
}

void RecordDb::read_embeddings(const std::vector<std::int64_t>& rids, int dimension,
                               const std::function<void(std::int64_t, const float*)>& sink) {
  try {
    auto st = connection_->prepare("SELECT vector FROM embeddings WHERE rid = ?");
    std::vector<float> v(static_cast<std::size_t>(dimension));
    for (auto rid : rids) {
      st->reset();
      st->bind(1, rid);
      if (!st->step()) continue;
      auto blob = st->get_blob(0);
      checked_embedding(blob, dimension, rid);
      std::memcpy(v.data(), blob.bytes.data(), blob.bytes.size());
      sink(rid, v.data());
    }
  } catch (const std::exception& e) {
    rethrow_damaged(e, "reading embeddings");
  }
}

void RecordDb::write(std::int64_t collection_id, const std::vector<StoredRecord*>& puts,
                     const std::vector<std::string>& deletes, std::int64_t new_last_seq) {
  sql::Transaction tx(*connection_);
  if (!puts.empty()) {
    // An upsert keeps the row (and its rid); only a changed embedding is rewritten.
    auto row = connection_->prepare(
        "INSERT INTO records (collection_id, record_id, seq, added_seq, document, metadata) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (collection_id, record_id) DO UPDATE SET seq = excluded.seq, added_seq = excluded.added_seq,"
        " document = excluded.document, metadata = excluded.metadata RETURNING rid");
    auto vector = connection_->prepare("INSERT OR REPLACE INTO embeddings (rid, vector) VALUES (?, ?)");
    sql::Blob blob;
    for (StoredRecord* r : puts) {
      row->reset();
      row->bind(1, collection_id);
      row->bind(2, r->id);
      row->bind(3, r->seq);
      row->bind(4, r->added_seq);
      row->bind(5, r->document ? sql::Value(*r->document) : sql::Value());
      row->bind(6, r->metadata.is_null() ? sql::Value() : sql::Value(r->metadata.dump()));
      if (!row->step()) throw Error(ErrorKind::internal, "INSERT ... RETURNING gave no row");
      r->rid = row->get_int64(0);
      while (row->step()) {
      }
      if (!r->reindex) continue;
      vector->reset();
      vector->bind(1, r->rid);
      blob.bytes.resize(r->embedding.size() * sizeof(float));
      std::memcpy(blob.bytes.data(), r->embedding.data(), blob.bytes.size());
      vector->bind(2, blob);
      vector->execute();
    }
  }
  if (!deletes.empty()) {
    auto st = connection_->prepare("DELETE FROM records WHERE collection_id = ? AND record_id = ?");
    for (const auto& id : deletes) {
      st->reset();
      st->bind(1, collection_id);
      st->bind(2, id);
      st->execute();
    }
  }
  set_last_seq(new_last_seq);
  tx.commit();
  last_seq_ = new_last_seq;
}

}  // namespace lunadb::vector::detail
