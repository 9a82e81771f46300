// Collection operations through the public API: semantics, validation, reopen, locking.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

using testing::make_record;

CollectionConfig config_for(std::string name, int dim, Distance d = Distance::cosine, std::string model = "test-model") {
  CollectionConfig c;
  c.name = std::move(name);
  c.dimension = dim;
  c.distance = d;
  c.embedding_model = std::move(model);
  return c;
}

ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  return ErrorKind::internal;  // "no error" is never what these tests expect
}

class VectorCollection : public ::testing::Test {
 protected:
  test::TempDir dir{"lunadb-vector"};
  std::unique_ptr<VectorStore> store = VectorStore::open(dir.path());
  std::shared_ptr<Collection> facts = store->create_collection(config_for("luna_facts", 3));

  void add_basic() {
    facts->add({make_record("a", {1, 0, 0}, "apples are red", {{"kind", "fact"}, {"n", 1}}),
                make_record("b", {0, 1, 0}, "bananas are yellow", {{"kind", "fact"}, {"n", 2}}),
                make_record("c", {0, 0, 1}, std::nullopt, {{"kind", "episode"}, {"tags", {"x", "y"}}})});
  }
};

TEST_F(VectorCollection, AddGetCount) {
  add_basic();
  EXPECT_EQ(facts->count(), 3u);
  GetRequest all;
  all.include = include_all;
  auto r = facts->get(all);
  ASSERT_EQ(r.ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.documents[0], "apples are red");
  EXPECT_FALSE(r.documents[2].has_value());
  EXPECT_EQ(r.metadatas[1]["n"], 2);
  EXPECT_EQ(r.embeddings[2], (std::vector<float>{0, 0, 1}));

  GetRequest by_id;
  by_id.ids = {"c", "a", "zzz"};
  r = facts->get(by_id);
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a", "c"})) << "insertion order, missing ids skipped";
  EXPECT_TRUE(r.embeddings.empty()) << "embeddings are not included by default";

  GetRequest paged;
  paged.offset = 1;
  paged.limit = 1;
  EXPECT_EQ(facts->get(paged).ids, (std::vector<std::string>{"b"}));

  GetRequest filtered;
  filtered.where = {{"kind", "fact"}};
  filtered.where_document = {{"$contains", "yellow"}};
  EXPECT_EQ(facts->get(filtered).ids, (std::vector<std::string>{"b"}));
}

TEST_F(VectorCollection, AddOfExistingIdFailsAndWritesNothing) {
  add_basic();
  std::string message;
  EXPECT_EQ(kind_of([&] { facts->add({make_record("new", {1, 1, 0}), make_record("b", {1, 1, 1})}); }, &message),
            ErrorKind::constraint);
  EXPECT_NE(message.find("'b'"), std::string::npos) << message;
  EXPECT_EQ(facts->count(), 3u);
  GetRequest g;
  g.ids = {"new"};
  EXPECT_TRUE(facts->get(g).ids.empty());
}

TEST_F(VectorCollection, InvalidInputIsRejectedAndNothingWritten) {
  add_basic();
  const float nan = std::nanf("");
  const float inf = INFINITY;
  std::vector<std::vector<Record>> bad = {
      {make_record("x", {1, 0})},                              // wrong dimension
      {make_record("x", {nan, 0, 0})},                         // NaN
      {make_record("x", {inf, 0, 0})},                         // inf
      {make_record("x", {0, 0, 0})},                           // zero vector under cosine
      {make_record("x", {1, 0, 0}), make_record("x", {0, 1, 0})},  // duplicate id in one call
      {make_record("", {1, 0, 0})},                            // empty id
      {make_record("x", {1, 0, 0}, std::nullopt, {{"$bad", 1}})},
      {make_record("x", {1, 0, 0}, std::nullopt, Json::array({1}))},
      {make_record("x", {1, 0, 0}, std::string("\xc3\x28"))},  // invalid UTF-8 document
      {make_record("ok", {1, 0, 0}), make_record("y", {1, 0})},   // one bad record spoils the call
  };
  for (const auto& records : bad) {
    EXPECT_EQ(kind_of([&] { facts->add(records); }), ErrorKind::invalid_argument) << records.front().id;
    EXPECT_EQ(kind_of([&] { facts->upsert(records); }), ErrorKind::invalid_argument) << records.front().id;
  }
  EXPECT_EQ(facts->count(), 3u);
  EXPECT_EQ(kind_of([&] { facts->update({RecordUpdate{"a", std::vector<float>{nan, 1, 1}, std::nullopt, nullptr}}); }),
            ErrorKind::invalid_argument);
  EXPECT_EQ(kind_of([&] { facts->update({RecordUpdate{"a", std::nullopt, std::nullopt, nullptr},
                                         RecordUpdate{"a", std::nullopt, std::nullopt, nullptr}}); }),
            ErrorKind::invalid_argument);
}

TEST_F(VectorCollection, UpsertInsertsOrReplacesAndMergesMetadata) {
  add_basic();
  facts->upsert({make_record("a", {0, 1, 1}, std::nullopt, {{"n", nullptr}, {"extra", true}}),
                 make_record("d", {1, 1, 1}, "new", {{"kind", "fact"}})});
  GetRequest g;
  g.ids = {"a", "d"};
  g.include = include_all;
  auto r = facts->get(g);
  ASSERT_EQ(r.ids, (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(r.embeddings[0], (std::vector<float>{0, 1, 1}));
  EXPECT_EQ(r.documents[0], "apples are red") << "no document given: kept";
  EXPECT_EQ(r.metadatas[0], Json({{"kind", "fact"}, {"extra", true}}));
  EXPECT_EQ(facts->count(), 4u);
}

TEST_F(VectorCollection, UpdateSkipsMissingIdsLikeChroma) {
  add_basic();
  auto changed = facts->update({RecordUpdate{"b", std::nullopt, std::string("bananas are ripe"), {{"n", 20}}},
                                RecordUpdate{"missing", std::vector<float>{1, 1, 1}, std::nullopt, nullptr}});
  EXPECT_EQ(changed, 1u);
  EXPECT_EQ(facts->count(), 3u);
  GetRequest g;
  g.ids = {"b"};
  g.include = include_all;
  auto r = facts->get(g);
  EXPECT_EQ(r.documents[0], "bananas are ripe");
  EXPECT_EQ(r.metadatas[0], Json({{"kind", "fact"}, {"n", 20}}));
  EXPECT_EQ(r.embeddings[0], (std::vector<float>{0, 1, 0}));
}

TEST_F(VectorCollection, DeleteByIdsAndWhere) {
  add_basic();
  EXPECT_EQ(kind_of([&] { facts->remove(DeleteRequest{}); }), ErrorKind::invalid_argument);
  EXPECT_EQ(facts->remove(DeleteRequest{{"a", "nope"}, nullptr, nullptr}), 1u);
  EXPECT_EQ(facts->remove(DeleteRequest{{}, {{"kind", "episode"}}, nullptr}), 1u);
  EXPECT_EQ(facts->count(), 1u);
  EXPECT_EQ(facts->remove(DeleteRequest{{"b"}, {{"kind", "episode"}}, nullptr}), 0u) << "ids and where both apply";
  facts->add({make_record("a", {1, 0, 0})});  // a deleted id may be added again
  EXPECT_EQ(facts->count(), 2u);
}

TEST_F(VectorCollection, QueryDistancesPerSpace) {
  auto l2 = store->create_collection(config_for("l2", 2, Distance::l2));
  auto ip = store->create_collection(config_for("ip", 2, Distance::ip));
  auto cos = store->create_collection(config_for("cos", 2, Distance::cosine));
  for (auto& c : {l2, ip, cos}) c->add({make_record("p", {3, 4}), make_record("q", {1, 0})});
  QueryRequest q;
  q.embeddings = {{1, 1}};
  auto r = l2->query(q)[0];
  ASSERT_EQ(r.ids, (std::vector<std::string>{"q", "p"}));
  EXPECT_FLOAT_EQ(r.distances[0], 1.0f);   // (1-1)^2 + (1-0)^2
  EXPECT_FLOAT_EQ(r.distances[1], 13.0f);  // 4 + 9, squared
  r = ip->query(q)[0];
  ASSERT_EQ(r.ids, (std::vector<std::string>{"p", "q"}));
  EXPECT_FLOAT_EQ(r.distances[0], 1.0f - 7.0f);
  EXPECT_FLOAT_EQ(r.distances[1], 0.0f);
  r = cos->query(q)[0];
  ASSERT_EQ(r.ids, (std::vector<std::string>{"p", "q"}));
  EXPECT_NEAR(r.distances[0], 1.0 - 7.0 / (5.0 * std::sqrt(2.0)), 1e-6);
  EXPECT_NEAR(r.distances[1], 1.0 - 1.0 / std::sqrt(2.0), 1e-6);
}

TEST_F(VectorCollection, QueryManyVectorsWithFiltersAndIncludes) {
  add_basic();
  QueryRequest q;
  q.embeddings = {{1, 0, 0}, {0, 0, 1}};
  q.n_results = 2;
  q.where = {{"kind", "fact"}};
  q.include = include_all;
  auto r = facts->query(q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r[1].ids.size(), 2u);
  EXPECT_EQ(r[0].documents[0], "apples are red");
  EXPECT_EQ(r[0].metadatas[0]["kind"], "fact");
  EXPECT_EQ(r[0].embeddings[0], (std::vector<float>{1, 0, 0}));
  q.n_results = 10;
  q.where = nullptr;
  q.where_document = {{"$contains", "yellow"}};
  q.include = include_distances;
  r = facts->query(q);
  EXPECT_EQ(r[0].ids, (std::vector<std::string>{"b"})) << "fewer results when fewer match";
  EXPECT_TRUE(r[0].documents.empty());
  q.where_document = nullptr;
  q.ids = {"c"};
  EXPECT_EQ(facts->query(q)[0].ids, (std::vector<std::string>{"c"}));
  q.ids = {};
  q.where = {{"kind", "nothing"}};
  EXPECT_TRUE(facts->query(q)[0].ids.empty());
}

TEST_F(VectorCollection, QueryValidation) {
  add_basic();
  QueryRequest q;
  q.embeddings = {{1, 0}};
  std::string message;
  EXPECT_EQ(kind_of([&] { facts->query(q); }, &message), ErrorKind::invalid_argument);
  EXPECT_NE(message.find("dimension 2"), std::string::npos) << message;
  EXPECT_NE(message.find("test-model"), std::string::npos) << message;
  q.embeddings = {{1, 0, 0}};
  q.embedding_model = "other-model";
  EXPECT_EQ(kind_of([&] { facts->query(q); }, &message), ErrorKind::invalid_argument);
  EXPECT_NE(message.find("re-embed"), std::string::npos) << message;
  q.embedding_model = "test-model";
  EXPECT_NO_THROW(facts->query(q));
  q.n_results = 0;
  EXPECT_EQ(kind_of([&] { facts->query(q); }), ErrorKind::invalid_argument);
  q.n_results = 1;
  q.where = {{"a", {{"$unknown", 1}}}};
  EXPECT_EQ(kind_of([&] { facts->query(q); }, &message), ErrorKind::invalid_argument);
  EXPECT_NE(message.find("$unknown"), std::string::npos);
  q.where = nullptr;
  q.embeddings = {};
  EXPECT_EQ(kind_of([&] { facts->query(q); }), ErrorKind::invalid_argument);
  EXPECT_EQ(kind_of([] { parse_json("{\"a\": ", "--where"); }, &message), ErrorKind::invalid_argument);
  EXPECT_NE(message.find("--where"), std::string::npos);
}

TEST_F(VectorCollection, CollectionCatalog) {
  EXPECT_EQ(kind_of([&] { store->create_collection(config_for("luna_facts", 3)); }), ErrorKind::constraint);
  for (const char* bad : {"", "has space", "-dash-first", "semi;colon", "slash/name"}) {
    EXPECT_EQ(kind_of([&] { store->create_collection(config_for(bad, 3)); }), ErrorKind::invalid_argument) << bad;
  }
  EXPECT_EQ(kind_of([&] { store->create_collection(config_for("zero", 0)); }), ErrorKind::invalid_argument);
  EXPECT_EQ(kind_of([&] { store->get_collection("nope"); }), ErrorKind::not_found);
  auto episodes = store->get_or_create_collection(config_for("luna_episodes", 3));
  EXPECT_EQ(store->get_or_create_collection(config_for("luna_episodes", 3)).get(), episodes.get());
  EXPECT_EQ(kind_of([&] { store->get_or_create_collection(config_for("luna_episodes", 4)); }), ErrorKind::invalid_argument);
  auto names = store->list_collections();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "luna_episodes");
  episodes->add({make_record("e", {1, 2, 3})});
  store->delete_collection("luna_episodes");
  EXPECT_EQ(kind_of([&] { episodes->count(); }), ErrorKind::usage);
  EXPECT_EQ(kind_of([&] { store->delete_collection("luna_episodes"); }), ErrorKind::not_found);
  auto again = store->create_collection(config_for("luna_episodes", 3));
  EXPECT_EQ(again->count(), 0u);
  EXPECT_EQ(parse_distance("l2"), Distance::l2);
  EXPECT_EQ(kind_of([] { parse_distance("dot"); }), ErrorKind::invalid_argument);
}

TEST_F(VectorCollection, ReopenKeepsEverythingAndSecondOpenerIsRefused) {
  add_basic();
  std::string message;
  EXPECT_EQ(kind_of([&] { VectorStore::open(dir.path()); }, &message), ErrorKind::busy);
  EXPECT_NE(message.find("LOCK"), std::string::npos) << message;
  facts.reset();
  store.reset();
  store = VectorStore::open(dir.path());
  facts = store->get_collection("luna_facts");
  EXPECT_EQ(facts->config().embedding_model, "test-model");
  GetRequest g;
  g.include = include_all;
  auto r = facts->get(g);
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.metadatas[2]["tags"], Json({"x", "y"}));
  EXPECT_EQ(r.embeddings[1], (std::vector<float>{0, 1, 0}));
}

TEST_F(VectorCollection, HandlesRefuseUseAfterStoreClose) {
  store.reset();
  EXPECT_EQ(kind_of([&] { facts->count(); }), ErrorKind::usage);
}

TEST(VectorStoreFiles, CorruptRecordsDatabaseIsAClearError) {
  test::TempDir dir{"lunadb-vector"};
  {
    auto store = VectorStore::open(dir.path());
    store->create_collection(config_for("c", 2))->add({make_record("a", {1, 2})});
  }
  {
    std::ofstream out(dir / "lunadb-vectors.sqlite3", std::ios::binary | std::ios::trunc);
    out << "this is not a database at all, just some text that is long enough";
  }
  std::filesystem::remove(dir / "lunadb-vectors.sqlite3-wal");
  std::string message;
  EXPECT_EQ(kind_of([&] { VectorStore::open(dir.path()); }, &message), ErrorKind::corrupt);
  EXPECT_NE(message.find("lunadb-vectors.sqlite3"), std::string::npos) << message;
}

}  // namespace
}  // namespace lunadb::vector
