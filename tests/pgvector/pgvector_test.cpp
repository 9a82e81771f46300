// The pgvector backend's own faults and guarantees: a server without pgvector, a user who may not
// create it, bad input writing nothing, VECTOR_URL's password never shown, filtered queries
// returning k when k match, the same errors as the embedded store.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "support/cli.hpp"
#include "support/servers.hpp"
#include "support/vector_backends.hpp"

namespace lunadb::vector {
namespace {

Settings pgvector_settings(const std::string& url) {
  return load_settings({{"LUNA_ENV_FILE", ""}, {"VECTOR_BACKEND", "pgvector"}, {"VECTOR_URL", url}, {"DB_POOL_SIZE", "2"},
                        {"DB_CONNECT_TIMEOUT", "3"}});
}

std::string with_password(const DbUrl& url, const std::string& password) {
  std::string text = "postgresql://" + url.user + ":" + password + "@" + url.host;
  if (url.port) text += ":" + std::to_string(*url.port);
  return text + "/" + url.database;
}

std::string open_error(const std::string& url, ErrorKind expected_kind) {
  try {
    open_pgvector_store(pgvector_settings(url));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), expected_kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "the store opened";
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PgvectorStore, ServerWithoutPgvectorIsAClearErrorNamingTheHostNotThePassword) {
  LUNADB_REQUIRE_SERVER(test::pg_url());  // Debian's PostgreSQL: no pgvector
  test::FreshDatabase db(test::pg_url());
  const std::string message = open_error(with_password(db.url(), "Pl41nPassw0rd"), ErrorKind::unsupported);
  EXPECT_TRUE(contains(message, "has no pgvector extension")) << message;
  EXPECT_TRUE(contains(message, db.url().host)) << message;
  EXPECT_TRUE(contains(message, "VECTOR_URL")) << message;
  EXPECT_FALSE(contains(message, "Pl41nPassw0rd")) << message;
}

TEST(PgvectorStore, UserWithoutTheRightToCreateTheExtension) {
  LUNADB_REQUIRE_SERVER(test::pgvector_url());
  test::FreshDatabase db(test::pgvector_url());
  const std::string role = test::unique_name("lunadb_novec");
  auto admin = db.connect();
  admin->execute("CREATE ROLE " + role + " LOGIN PASSWORD 'R0lePassw0rd'");
  admin->execute("GRANT ALL ON SCHEMA public TO " + role);
  DbUrl as_role = db.url();
  as_role.user = role;
  const std::string message = open_error(with_password(as_role, "R0lePassw0rd"), ErrorKind::config);
  EXPECT_TRUE(contains(message, "may not create the extension vector")) << message;
  EXPECT_TRUE(contains(message, "CREATE EXTENSION vector")) << message;
  EXPECT_FALSE(contains(message, "R0lePassw0rd")) << message;
  // Once a superuser created it, the same user works.
  admin->execute("CREATE EXTENSION vector");
  EXPECT_NO_THROW(open_pgvector_store(pgvector_settings(with_password(as_role, "R0lePassw0rd"))));
  admin.reset();
  db.admin()->execute("DROP OWNED BY " + role);
}

TEST(PgvectorStore, UnreachableServerNamesVectorUrlWithoutThePassword) {
  const std::string message = open_error("postgresql://luna:Unre4chablePw@127.0.0.1:1/luna", ErrorKind::connection);
  EXPECT_TRUE(contains(message, "VECTOR_URL")) << message;
  EXPECT_FALSE(contains(message, "Unre4chablePw")) << message;
}

class PgvectorBadInput : public ::testing::TestWithParam<test::VectorBackendKind> {};

// Each refused call leaves the collection as it was, with the same error kind on both backends.
TEST_P(PgvectorBadInput, RefusedCallsWriteNothing) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  auto store = backend.open();
  CollectionConfig config;
  config.name = "bad-input";
  config.dimension = 3;
  auto c = store->create_collection(config);
  c->add({{"a", {1, 0, 0}, "first", Json{{"k", 1}}}});
  auto expect_refused = [&](auto call, ErrorKind kind, const std::string& fragment) {
    try {
      call();
      ADD_FAILURE() << "accepted: " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    }
    EXPECT_EQ(c->count(), 1u) << fragment;
  };
  expect_refused([&] { c->add({{"b", {1, 0, 0}, std::nullopt, nullptr}, {"c", {1, 0}, std::nullopt, nullptr}}); },
                 ErrorKind::invalid_argument, "embedding has dimension 2 but collection 'bad-input' expects 3");
  expect_refused([&] { c->add({{"b", {1, std::nanf(""), 0}, std::nullopt, nullptr}}); }, ErrorKind::invalid_argument, "NaN or infinite");
  expect_refused([&] { c->add({{"b", {0, 1, 0}, std::nullopt, nullptr}, {"a", {0, 0, 1}, std::nullopt, nullptr}}); },
                 ErrorKind::constraint, "record 'a': id already exists (use upsert to replace it); nothing was written");
  expect_refused([&] { c->add({{"b", {0, 1, 0}, std::nullopt, nullptr}, {"b", {0, 0, 1}, std::nullopt, nullptr}}); },
                 ErrorKind::invalid_argument, "appears more than once");
  expect_refused([&] { c->remove(DeleteRequest{{}, Json{{"k", {{"$foo", 1}}}}, nullptr}); }, ErrorKind::invalid_argument,
                 "unknown operator '$foo'");
  expect_refused([&] { c->query(QueryRequest{{{1, 0}}, 3, nullptr, nullptr, {}, include_default, "", std::nullopt, false}); },
                 ErrorKind::invalid_argument, "query vector 0 has dimension 2");
  GetRequest g;
  g.include = include_all;
  auto r = c->get(g);
  ASSERT_EQ(r.ids, std::vector<std::string>{"a"});
  EXPECT_EQ(r.metadatas[0], Json({{"k", 1}}));
  EXPECT_EQ(r.embeddings[0], (std::vector<float>{1, 0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Backends, PgvectorBadInput,
                         ::testing::ValuesIn(test::vector_backend_kinds()),
                         [](const auto& param_info) { return test::backend_name(param_info.param); });

struct RandomRecords {
  std::size_t dimension;
  int count;
  float scale;
  int buckets;
};

struct SameCollection {
  std::shared_ptr<Collection> on_pg;
  std::shared_ptr<Collection> local;
  std::vector<Record> records;
};

// One collection of normal random records, made the same in both stores, to compare them.
SameCollection same_random_collection(VectorStore& pg_store, VectorStore& embedded_store, const std::string& name,
                                      Distance distance, const RandomRecords& shape, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  CollectionConfig config;
  config.name = name;
  config.dimension = shape.dimension;
  config.distance = distance;
  SameCollection made{pg_store.create_collection(config), embedded_store.create_collection(config), {}};
  for (int i = 0; i < shape.count; ++i) {
    std::vector<float> v(shape.dimension);
    for (auto& x : v) x = normal(rng) * shape.scale;
    made.records.push_back({"r" + std::to_string(i), v, std::nullopt, Json{{"bucket", i % shape.buckets}}});
  }
  made.on_pg->add(made.records);
  made.local->add(made.records);
  return made;
}

// Past the point where the planner uses the HNSW index, a selective filter must still give k
// results (pgvector's iterative scan, or the exact fallback), with the embedded store's distances.
TEST(PgvectorStore, FilteredQueriesReturnKWhenKMatchAndDistancesMatchTheEmbeddedStore) {
  test::VectorBackendFixture pg(test::VectorBackendKind::pgvector);
  LUNADB_REQUIRE_BACKEND(pg);
  test::VectorBackendFixture embedded(test::VectorBackendKind::embedded);
  auto pg_store = pg.open();
  auto embedded_store = embedded.open();
  std::mt19937 rng(7);
  for (Distance distance : {Distance::cosine, Distance::l2, Distance::ip}) {
    auto [on_pg, local, records] =
        same_random_collection(*pg_store, *embedded_store, std::string("k-") + to_string(distance), distance,
                               {.dimension = 16, .count = 3000, .scale = 0.25f, .buckets = 100}, rng);
    QueryRequest q;
    q.embeddings = {records[5].embedding};
    q.n_results = 10;
    q.where = {{"bucket", 42}};  // 30 of 3000 match
    auto got = on_pg->query(q)[0];
    q.exact = true;
    auto want = local->query(q)[0];
    ASSERT_EQ(got.ids.size(), 10u) << to_string(distance);
    EXPECT_EQ(got.ids, want.ids) << to_string(distance);
    for (std::size_t i = 0; i < got.distances.size(); ++i) EXPECT_NEAR(got.distances[i], want.distances[i], 1e-5) << to_string(distance);
  }
}

TEST(PgvectorStore, CollectionsAreSharedBetweenStoresOnOneDatabase) {
  test::VectorBackendFixture pg(test::VectorBackendKind::pgvector);
  LUNADB_REQUIRE_BACKEND(pg);
  auto first = pg.open();
  auto second = pg.open();  // another app server on the same database
  CollectionConfig config;
  config.name = "shared";
  config.dimension = 2;
  config.index.m = 8;
  first->create_collection(config)->add({{"x", {1, 2}, "doc", nullptr}});
  auto seen = second->get_collection("shared");
  EXPECT_EQ(seen->config().index.m, 8);
  EXPECT_EQ(seen->count(), 1u);
  EXPECT_THROW(second->create_collection(config), Error);
  EXPECT_EQ(second->list_collections().size(), 1u);
  auto handle = first->get_collection("shared");
  second->delete_collection("shared");
  try {
    handle->count();
    ADD_FAILURE() << "a deleted collection answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
  }
  EXPECT_THROW(first->get_collection("shared"), Error);
}

// VECTOR_PG_TYPE=halfvec: float16 columns and index; vectors read back and distances agree with the
// float32 embedded store within float16's precision, and the ranking of well-separated neighbours.
TEST(PgvectorStore, HalfvecCollectionsAgreeWithTheEmbeddedStoreWithinHalfPrecision) {
  test::VectorBackendFixture embedded(test::VectorBackendKind::embedded);
  LUNADB_REQUIRE_SERVER(test::pgvector_url());
  test::FreshDatabase db(test::pgvector_url());
  Settings settings = pgvector_settings(db.url_string());
  settings.vector_halfvec = true;
  auto pg_store = open_pgvector_store(settings);
  auto embedded_store = embedded.open();
  std::mt19937 rng(11);
  for (Distance distance : {Distance::cosine, Distance::l2, Distance::ip}) {
    auto [on_pg, local, records] =
        same_random_collection(*pg_store, *embedded_store, std::string("half-") + to_string(distance), distance,
                               {.dimension = 32, .count = 500, .scale = 0.2f, .buckets = 10}, rng);
    GetRequest g;
    g.ids = {"r7"};
    g.include = include_embeddings;
    const auto back = on_pg->get(g).embeddings.at(0);
    for (std::size_t d = 0; d < back.size(); ++d) EXPECT_NEAR(back[d], records[7].embedding[d], std::fabs(records[7].embedding[d]) * 1e-3 + 1e-7);
    for (int probe : {3, 250}) {
      QueryRequest q;
      q.embeddings = {records[static_cast<std::size_t>(probe)].embedding};
      q.n_results = 10;
      q.exact = true;
      auto got = on_pg->query(q)[0];
      auto want = local->query(q)[0];
      ASSERT_EQ(got.ids.size(), 10u);
      if (distance != Distance::ip) {
        EXPECT_EQ(got.ids[0], want.ids[0]) << to_string(distance);  // itself
      }
      // float16 keeps ~3 significant digits per component; a distance sums 32 such products.
      for (std::size_t i = 0; i < got.ids.size(); ++i) {
        QueryRequest same = q;
        same.ids = {got.ids[i]};
        same.n_results = 1;
        const float reference = local->query(same)[0].distances.at(0);
        EXPECT_NEAR(got.distances[i], reference, 2e-3 * std::max(1.0f, std::fabs(reference))) << to_string(distance) << " " << got.ids[i];
      }
    }
    EXPECT_NE(on_pg->stats().search_plan.find("halfvec"), std::string::npos);
  }
  auto c = db.connect();
  auto st = c->prepare("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'lunadb_vectors_1'::regclass AND attname = 'embedding'");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_text(0), "halfvec(32)");
}

// The vector schema chain: applied once, recorded in lunadb_vector_version, and at its head no DDL
// runs, so that app servers may use a user that can create nothing.
TEST(PgvectorSchema, UpgradeAppliesTheChainOnceAndThenNeedsNoPrivilege) {
  LUNADB_REQUIRE_SERVER(test::pgvector_url());
  test::FreshDatabase db(test::pgvector_url());
  const Settings settings = pgvector_settings(db.url_string());
  std::vector<std::string> lines;
  auto applied = upgrade_pgvector_schema(settings, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_FALSE(applied.empty());
  EXPECT_EQ(applied.front(), "pgv001");
  ASSERT_EQ(lines.size(), applied.size());
  EXPECT_TRUE(contains(lines[0], "Running vector upgrade base -> pgv001")) << lines[0];
  EXPECT_TRUE(upgrade_pgvector_schema(settings).empty());
  auto c = db.connect();
  {
    auto st = c->prepare("SELECT version_num FROM lunadb_vector_version");
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->get_text(0), applied.back());
    EXPECT_FALSE(st->step());
  }
  // A role that may read the catalog and create nothing (PostgreSQL 15+: no CREATE on public).
  const std::string role = test::unique_name("lunadb_reader");
  c->execute("CREATE ROLE " + role + " LOGIN PASSWORD 'Re4derPw'");
  c->execute("GRANT SELECT ON lunadb_vector_collections, lunadb_vector_version TO " + role);
  DbUrl as_role = db.url();
  as_role.user = role;
  auto store = open_pgvector_store(pgvector_settings(with_password(as_role, "Re4derPw")));
  EXPECT_TRUE(store->list_collections().empty());
  store.reset();
  c.reset();
  db.admin()->execute("DROP OWNED BY " + role);
}

TEST(PgvectorSchema, UpgradeOnAServerWithoutPgvectorWritesNothing) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  test::FreshDatabase db(test::pg_url());
  try {
    upgrade_pgvector_schema(pgvector_settings(with_password(db.url(), "N0VecPw")));
    ADD_FAILURE() << "upgraded a server without pgvector";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << e.what();
    EXPECT_TRUE(contains(e.what(), "has no pgvector extension")) << e.what();
    EXPECT_FALSE(contains(e.what(), "N0VecPw")) << e.what();
  }
  auto c = db.connect();
  auto st = c->prepare("SELECT count(*) FROM pg_class WHERE relname LIKE 'lunadb_vector%'");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_int64(0), 0);
}

// `lunadb upgrade` brings the relational chain (DB_URL, here SQLite) and, with
// VECTOR_BACKEND=pgvector, the vector chain on VECTOR_URL to their heads.
TEST(PgvectorSchema, LunadbUpgradeRunsTheVectorChainOnVectorUrl) {
  LUNADB_REQUIRE_SERVER(test::pgvector_url());
  test::FreshDatabase db(test::pgvector_url());
  test::TempDir dir;
  const std::string env = "LUNA_ENV_FILE= DB_URL=sqlite:///luna.db VECTOR_BACKEND=pgvector VECTOR_URL='" +
                          with_password(db.url(), "Upgr4dePw") + "'";
  auto first = test::run_lunadb(dir, "upgrade", env);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "Running vector upgrade base -> pgv001")) << first.output;
  EXPECT_FALSE(contains(first.output, "Upgr4dePw")) << first.output;
  auto second = test::run_lunadb(dir, "upgrade", env);
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "Nothing to upgrade in the vector schema")) << second.output;
  // Against a server without pgvector, the same command fails clearly.
  test::FreshDatabase plain(test::pg_url());
  auto refused = test::run_lunadb(dir, "upgrade", "LUNA_ENV_FILE= DB_URL=sqlite:///luna.db VECTOR_BACKEND=pgvector VECTOR_URL='" +
                                                      with_password(plain.url(), "Upgr4dePw") + "'");
  EXPECT_NE(refused.code, 0) << refused.output;
  EXPECT_TRUE(contains(refused.output, "has no pgvector extension")) << refused.output;
  EXPECT_FALSE(contains(refused.output, "Upgr4dePw")) << refused.output;
}

// `lunadb bench vectors --backend pgvector`: recall measured against the brute force (it moves
// with ef), a filtered row and no exact one, and the run's collection gone afterwards.
TEST(PgvectorBench, BenchVectorsMeasuresRecallOnVectorUrlAndLeavesNothingBehind) {
  LUNADB_REQUIRE_SERVER(test::pgvector_url());
  test::FreshDatabase db(test::pgvector_url());
  test::TempDir dir;
  auto run = test::run_lunadb(dir, "bench vectors --backend pgvector --distribution uniform --count 3000 --dim 16 --queries 50 "
                                   "--ef-sweep 10,200 --json",
                              "LUNA_ENV_FILE= VECTOR_URL='" + with_password(db.url(), "B3nchPw") + "'");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_FALSE(contains(run.output, "B3nchPw")) << run.output;
  const auto result = Json::parse(run.output.substr(run.output.find('{')));
  EXPECT_EQ(result.at("backend"), "pgvector");
  std::vector<std::string> searches;
  for (const auto& row : result.at("rows")) searches.push_back(row.at("search").get<std::string>() + (row.at("ef").is_null() ? "" : std::to_string(row.at("ef").get<int>())));
  EXPECT_EQ(searches, (std::vector<std::string>{"default100", "filtered", "ef10", "ef200"})) << result.dump();
  const double at_10 = result.at("rows")[2].at("recall").get<double>(), at_200 = result.at("rows")[3].at("recall").get<double>();
  EXPECT_LT(at_10, at_200) << "uniform vectors at ef 10 should miss neighbours that ef 200 finds: " << result.dump();
  EXPECT_GE(at_200, 0.98) << result.dump();
  EXPECT_GE(result.at("filtered_recall_at_10").get<double>(), 0.9) << result.dump();
  auto c = db.connect();
  auto st = c->prepare("SELECT (SELECT count(*) FROM lunadb_vector_collections) + (SELECT count(*) FROM pg_class WHERE relname LIKE 'lunadb_vectors_%')");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_int64(0), 0) << "the bench left its collection behind";
}

}  // namespace
}  // namespace lunadb::vector
