// The pieces under the on-disk format and the single in-memory copy of each vector: distance
// kernels against a double-precision reference, CRC-32C, migration of a version 1 records file,
// and embeddings read back bit for bit from wherever they are held.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "sql/driver.hpp"
#include "support/temp_dir.hpp"
#include "vector/distance.hpp"
#include "vector/io.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

namespace fs = std::filesystem;

TEST(VectorFormat, KernelsMatchADoubleReferenceAtEveryTailLength) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::size_t> dims;
  for (std::size_t d = 1; d <= 70; ++d) dims.push_back(d);
  for (std::size_t d : {383u, 384u, 767u, 768u, 769u, 1536u}) dims.push_back(d);
  for (std::size_t dim : dims) {
    // One float of offset: the kernels must not assume aligned input.
    std::vector<float> a(dim + 1), b(dim + 1);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    double dot = 0, l2 = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      dot += double(a[i + 1]) * b[i + 1];
      l2 += (double(a[i + 1]) - b[i + 1]) * (double(a[i + 1]) - b[i + 1]);
    }
    const double tolerance = 1e-5 * double(dim);
    EXPECT_NEAR(detail::dot_product(a.data() + 1, b.data() + 1, dim), dot, tolerance) << "dim " << dim;
    EXPECT_NEAR(detail::squared_l2(a.data() + 1, b.data() + 1, dim), l2, tolerance) << "dim " << dim;
  }
  SUCCEED() << "kernels: " << detail::kernel_name();
}

TEST(VectorFormat, ElementDistancesAreChromasDistances) {
  const std::size_t dim = 37;
  std::mt19937 rng(5);
  auto a = testing::random_vector(rng, static_cast<int>(dim));
  auto b = testing::random_vector(rng, static_cast<int>(dim));
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
    l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  }
  const std::pair<Distance, double> cases[] = {
      {Distance::cosine, 1 - dot / std::sqrt(na * nb)}, {Distance::ip, 1 - dot}, {Distance::l2, l2}};
  for (const auto& [distance, expected] : cases) {
    std::vector<float> ea(detail::element_floats(distance, dim)), eb(ea.size());
    detail::make_element(distance, a.data(), dim, ea.data());
    detail::make_element(distance, b.data(), dim, eb.data());
    EXPECT_EQ(std::memcmp(ea.data(), a.data(), dim * sizeof(float)), 0) << "the element keeps the raw vector";
    EXPECT_NEAR(detail::element_distance(distance)(ea.data(), eb.data(), &dim), expected, 1e-4) << to_string(distance);
  }
}

TEST(VectorFormat, Crc32cCheckValueAndContinuation) {
  const std::string text = "123456789";
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  EXPECT_EQ(detail::crc32c(bytes), 0xE3069283u);
  EXPECT_EQ(detail::crc32c(bytes.subspan(4), detail::crc32c(bytes.subspan(0, 4))), 0xE3069283u);
  // Long input, split at an odd offset: the 8-byte loop and the byte tail agree.
  std::vector<std::uint8_t> big(100003);
  std::mt19937 rng(9);
  for (auto& x : big) x = static_cast<std::uint8_t>(rng());
  auto whole = detail::crc32c(big);
  auto span = std::span<const std::uint8_t>(big);
  EXPECT_EQ(detail::crc32c(span.subspan(12345), detail::crc32c(span.subspan(0, 12345))), whole);
  big[777] ^= 0x10;
  EXPECT_NE(detail::crc32c(big), whole);
}

// A records file as schema version 1 wrote it (embedding inline in `records`).
void write_version1_store(const fs::path& dir, const std::vector<std::vector<float>>& vectors) {
  fs::create_directories(dir);
  DbUrl url;
  url.backend = Backend::sqlite;
  url.dialect = "sqlite";
  url.database = (dir / "lunadb-vectors.sqlite3").string();
  auto c = sql::open_connection(url, sql::ConnectOptions{});
  c->execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  c->execute(
      "CREATE TABLE collections (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, dimension INTEGER NOT NULL,"
      " distance TEXT NOT NULL, hnsw_m INTEGER NOT NULL, ef_construction INTEGER NOT NULL, ef_search INTEGER NOT NULL,"
      " embedding_model TEXT NOT NULL)");
  c->execute(
      "CREATE TABLE records (collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
      " record_id TEXT NOT NULL, seq INTEGER NOT NULL, added_seq INTEGER NOT NULL, embedding BLOB NOT NULL,"
      " document TEXT, metadata TEXT, UNIQUE (collection_id, record_id))");
  c->execute("INSERT INTO collections VALUES (1, 'old', " + std::to_string(vectors[0].size()) + ", 'cosine', 16, 200, 100, 'm1')");
  auto st = c->prepare("INSERT INTO records VALUES (1, ?, ?, ?, ?, ?, ?)");
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    sql::Blob blob;
    blob.bytes.resize(vectors[i].size() * sizeof(float));
    std::memcpy(blob.bytes.data(), vectors[i].data(), blob.bytes.size());
    st->reset();
    st->bind(1, "v" + std::to_string(i));
    st->bind(2, std::int64_t(i + 1));
    st->bind(3, std::int64_t(i + 1));
    st->bind(4, blob);
    st->bind(5, i % 2 ? sql::Value("doc " + std::to_string(i)) : sql::Value());
    st->bind(6, sql::Value(Json{{"i", int(i)}}.dump()));
    st->execute();
  }
  c->execute("INSERT INTO store_meta VALUES ('schema_version', 1), ('last_seq', " + std::to_string(vectors.size()) + ")");
}

TEST(VectorFormat, Version1RecordsAreMigratedAndIndexed) {
  test::TempDir dir("lunadb-vec-v1");
  std::mt19937 rng(11);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 60; ++i) vectors.push_back(testing::random_vector(rng, 12));  // not unit length
  write_version1_store(dir.path(), vectors);
  // A version 1 snapshot folder beside it must be rebuilt, not trusted.
  fs::create_directories(dir.path() / "index" / "1");
  { std::ofstream(dir.path() / "index" / "1" / "index.meta") << "LUNAVIDX old format"; }
  OpenOptions options;
  options.flat_threshold = 20;
  for (int round = 0; round < 2; ++round) {
    auto store = VectorStore::open(dir.path(), options);
    auto c = store->get_collection("old");
    ASSERT_EQ(c->count(), vectors.size());
    if (round == 0) {
      EXPECT_NE(c->stats().index_recovery, "");
    } else {
      EXPECT_EQ(c->stats().index_recovery, "") << "the snapshot written after migration loads";
    }
    EXPECT_TRUE(c->stats().hnsw_active);
    GetRequest all;
    all.include = include_all;
    auto got = c->get(all);
    ASSERT_EQ(got.ids.size(), vectors.size());
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      EXPECT_EQ(got.ids[i], "v" + std::to_string(i));
      EXPECT_EQ(got.embeddings[i], vectors[i]) << "bit for bit";
      EXPECT_EQ(got.metadatas[i], (Json{{"i", int(i)}}));
      EXPECT_EQ(got.documents[i].has_value(), i % 2 == 1);
    }
    QueryRequest q;
    q.n_results = 1;
    q.embeddings = {vectors[17]};
    auto hit = c->query(q);
    ASSERT_EQ(hit[0].ids.size(), 1u);
    EXPECT_EQ(hit[0].ids[0], "v17");
    EXPECT_NEAR(hit[0].distances[0], 0.0f, 1e-5);
    // New writes go to the version 2 tables.
    if (round == 0) c->upsert({testing::make_record("v3", vectors[4])});
    if (round == 1) {
      EXPECT_EQ(c->get(GetRequest{{"v3"}, nullptr, nullptr, std::nullopt, 0, include_embeddings}).embeddings[0], vectors[4]);
    }
    if (round == 0) vectors[3] = vectors[4];
  }
}

// The vectors live in one place (flat array, then the graph); every path must hand back what was
// given, including metadata-only updates and reopening from a snapshot plus catch-up.
TEST(VectorFormat, EmbeddingsComeBackExactAcrossIndexBuildUpdatesAndReopen) {
  test::TempDir dir("lunadb-vec-exact");
  OpenOptions options;
  options.flat_threshold = 25;
  options.snapshot_every = 1000000;
  std::mt19937 rng(13);
  std::map<std::string, std::vector<float>> model;
  Distance current = Distance::cosine;
  auto check = [&](Collection& c) {
    GetRequest all;
    all.include = include_embeddings;
    auto got = c.get(all);
    ASSERT_EQ(got.ids.size(), model.size());
    for (std::size_t i = 0; i < got.ids.size(); ++i) EXPECT_EQ(got.embeddings[i], model.at(got.ids[i])) << got.ids[i];
    for (const auto& [id, v] : model) {
      if (current == Distance::ip) break;  // under ip the nearest to v is not v itself
      QueryRequest q;
      q.n_results = 1;
      q.include = include_embeddings | include_distances;
      q.embeddings = {v};
      auto hit = c.query(q);
      ASSERT_EQ(hit[0].ids.size(), 1u);
      EXPECT_EQ(hit[0].embeddings[0], v);
    }
  };
  for (Distance distance : {Distance::cosine, Distance::l2, Distance::ip}) {
    model.clear();
    current = distance;
    const std::string name = std::string("c_") + to_string(distance);
    {
      auto store = VectorStore::open(dir.path(), options);
      CollectionConfig config;
      config.name = name;
      config.dimension = 9;
      config.distance = distance;
      auto c = store->create_collection(config);
      for (int i = 0; i < 20; ++i) {  // below the threshold: flat array
        auto v = testing::random_vector(rng, 9);
        c->add({testing::make_record("r" + std::to_string(i), v)});
        model["r" + std::to_string(i)] = v;
      }
      check(*c);
      EXPECT_FALSE(c->stats().hnsw_active);
      std::vector<Record> more;
      for (int i = 20; i < 40; ++i) {  // crosses it: the graph takes over the vectors
        auto v = testing::random_vector(rng, 9);
        more.push_back(testing::make_record("r" + std::to_string(i), v));
        model["r" + std::to_string(i)] = v;
      }
      c->add(more);
      EXPECT_TRUE(c->stats().hnsw_active);
      EXPECT_EQ(c->update({RecordUpdate{"r5", std::nullopt, std::string("doc"), Json{{"k", 1}}}}), 1u);
      check(*c);
    }  // snapshot saved on close
    {
      auto store = VectorStore::open(dir.path(), options);
      auto c = store->get_collection(name);
      EXPECT_EQ(c->stats().index_recovery, "");
      check(*c);
    }
    // Changes after the snapshot, by a process that dies without saving one: the next open
    // catches up from the records.
    auto v = testing::random_vector(rng, 9);
    auto w = testing::random_vector(rng, 9);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int code = 1;
      try {
        auto store = VectorStore::open(dir.path(), options);
        auto c = store->get_collection(name);
        c->upsert({testing::make_record("r7", v)});
        c->update({RecordUpdate{"r8", std::nullopt, std::nullopt, Json{{"only", "metadata"}}}});
        c->remove(DeleteRequest{{"r9"}, nullptr, nullptr});
        c->add({testing::make_record("r40", w)});
        code = 0;
      } catch (...) {
      }
      _exit(code);  // no destructors: no snapshot
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    model["r7"] = v;
    model.erase("r9");
    model["r40"] = w;
    {
      auto store = VectorStore::open(dir.path(), options);
      auto c = store->get_collection(name);
      check(*c);
    }
  }
}

}  // namespace
}  // namespace lunadb::vector
