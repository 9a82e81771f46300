#include "vector/record_db.hpp"

#include <cstring>

#include "lunadb/error.hpp"

namespace lunadb::vector::detail {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS collections ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, dimension INTEGER NOT NULL,"
    " distance TEXT NOT NULL, hnsw_m INTEGER NOT NULL, ef_construction INTEGER NOT NULL,"
    " ef_search INTEGER NOT NULL, embedding_model TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records ("
    " collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    " record_id TEXT NOT NULL, seq INTEGER NOT NULL, added_seq INTEGER NOT NULL,"
    " embedding BLOB NOT NULL, document TEXT, metadata TEXT,"
    " UNIQUE (collection_id, record_id))",  // a rowid table: WITHOUT ROWID packs kilobyte rows badly
};

sql::Blob to_blob(const std::vector<float>& v) {
  sql::Blob blob;
  blob.bytes.resize(v.size() * sizeof(float));
  std::memcpy(blob.bytes.data(), v.data(), blob.bytes.size());
  return blob;
}

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
    sql::Transaction tx(*connection_);
    for (const char* statement : kSchema) connection_->execute(statement);
    auto version = connection_->prepare("SELECT value FROM store_meta WHERE key = 'schema_version'");
    if (version->step()) {
      auto found = version->get_int64(0);
      if (found != kSchemaVersion) {
        throw Error(ErrorKind::unsupported, "vector records database " + file_.string() + " has schema version " +
                                                std::to_string(found) + "; this lunadb reads version " +
                                                std::to_string(kSchemaVersion));
      }
    } else {
      connection_->execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', 1), ('last_seq', 0)");
    }
    version.reset();
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
  for (const char* text : {"DELETE FROM records WHERE collection_id = ?", "DELETE FROM collections WHERE id = ?"}) {
    auto st = connection_->prepare(text);
    st->bind(1, collection_id);
    st->execute();
  }
  tx.commit();
}

void RecordDb::load_records(std::int64_t collection_id, int dimension, const std::function<void(StoredRecord&&)>& sink) {
  try {
    auto st = connection_->prepare(
        "SELECT record_id, seq, added_seq, embedding, document, metadata FROM records WHERE collection_id = ?");
    st->bind(1, collection_id);
    while (st->step()) {
      StoredRecord r;
      r.id = st->get_text(0);
      r.seq = st->get_int64(1);
      r.added_seq = st->get_int64(2);
      auto blob = st->get_blob(3);
      if (blob.bytes.size() != static_cast<std::size_t>(dimension) * sizeof(float)) {
        throw Error(ErrorKind::corrupt, "record '" + r.id + "' has an embedding of " + std::to_string(blob.bytes.size()) +
                                            " bytes, expected " + std::to_string(dimension * sizeof(float)));
      }
      r.embedding.resize(static_cast<std::size_t>(dimension));
      std::memcpy(r.embedding.data(), blob.bytes.data(), blob.bytes.size());
      r.document = st->get_optional_text(4);
      if (auto text = st->get_optional_text(5)) r.metadata = Json::parse(*text);
      sink(std::move(r));
    }
  } catch (const std::exception& e) {
    rethrow_damaged(e, "reading records");
  }
}

void RecordDb::write(std::int64_t collection_id, const std::vector<const StoredRecord*>& puts,
                     const std::vector<std::string>& deletes, std::int64_t new_last_seq) {
  sql::Transaction tx(*connection_);
  if (!puts.empty()) {
    auto st = connection_->prepare(
        "INSERT OR REPLACE INTO records (collection_id, record_id, seq, added_seq, embedding, document, metadata)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const StoredRecord* r : puts) {
      st->reset();
      st->bind(1, collection_id);
      st->bind(2, r->id);
      st->bind(3, r->seq);
      st->bind(4, r->added_seq);
      st->bind(5, to_blob(r->embedding));
      st->bind(6, r->document ? sql::Value(*r->document) : sql::Value());
      st->bind(7, r->metadata.is_null() ? sql::Value() : sql::Value(r->metadata.dump()));
      st->execute();
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
