// The where / where_document grammar: each operator, the edge rules, and a comparison against an
// independent reference evaluator on random metadata.

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "lunadb/error.hpp"
#include "vector/filter.hpp"
#include "support/vector_backends.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

using detail::Filter;

bool where_matches(const Json& where, const Json& metadata) {
  return Filter::compile(where, nullptr).matches(metadata, std::nullopt);
}

bool doc_matches(const Json& where_document, const std::optional<std::string>& document) {
  return Filter::compile(nullptr, where_document).matches(nullptr, document);
}

void expect_invalid(const Json& where, const Json& where_document, const std::string& fragment) {
  try {
    Filter::compile(where, where_document);
    ADD_FAILURE() << "accepted " << where.dump() << " / " << where_document.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(VectorFilter, EqualityShorthandAndExplicit) {
  Json m = {{"kind", "fact"}, {"n", 3}, {"ok", true}};
  EXPECT_TRUE(where_matches({{"kind", "fact"}}, m));
  EXPECT_FALSE(where_matches({{"kind", "episode"}}, m));
  EXPECT_TRUE(where_matches({{"kind", {{"$eq", "fact"}}}}, m));
  EXPECT_TRUE(where_matches({{"ok", true}}, m));
  EXPECT_FALSE(where_matches({{"ok", 1}}, m)) << "bool is not an int";
  EXPECT_FALSE(where_matches({{"missing", "x"}}, m));
}

TEST(VectorFilter, IntAndFloatCompareAcrossTypes) {
  Json m = {{"n", 3}, {"x", 2.5}};
  EXPECT_TRUE(where_matches({{"n", 3.0}}, m));
  EXPECT_TRUE(where_matches({{"n", {{"$gt", 2.5}}}}, m));
  EXPECT_TRUE(where_matches({{"x", {{"$lt", 3}}}}, m));
  EXPECT_TRUE(where_matches({{"x", {{"$gte", 2.5}}}}, m));
  EXPECT_FALSE(where_matches({{"x", {{"$lte", 2}}}}, m));
  EXPECT_TRUE(where_matches({{"n", {{"$in", {1.0, 3.0}}}}}, m));
  // Parsed JSON holds non-negative integers as unsigned; they are still plain ints.
  Json parsed = Json::parse(R"({"n": 3, "big": 9007199254740993})");
  EXPECT_TRUE(where_matches({{"n", 3}}, parsed));
  EXPECT_TRUE(where_matches({{"n", {{"$gte", -1}}}}, parsed));
  EXPECT_TRUE(where_matches({{"big", std::int64_t{9007199254740993}}}, parsed)) << "exact beyond 2^53";
  EXPECT_FALSE(where_matches({{"big", std::int64_t{9007199254740992}}}, parsed));
}

// A C++ caller can build an unsigned beyond int64 directly; text callers get parse_json's check.
TEST(VectorFilter, IntegersBeyondInt64AreRefusedInFiltersMetadataAndText) {
  const std::uint64_t two_63 = 9223372036854775808ull;
  EXPECT_THROW(Filter::compile(Json{{"n", {{"$gt", two_63}}}}, nullptr), Error);
  EXPECT_THROW(Filter::compile(Json{{"n", two_63}}, nullptr), Error);
  EXPECT_THROW(Filter::compile(Json{{"n", {{"$in", {1, two_63}}}}}, nullptr), Error);
  EXPECT_NO_THROW(Filter::compile(Json{{"n", {{"$gt", 9223372036854775807ull}}}}, nullptr));
  EXPECT_THROW(detail::validate_metadata(Json{{"n", two_63}}, false, "test"), Error);
  EXPECT_THROW(detail::validate_metadata(Json{{"n", {1, two_63}}}, false, "test"), Error);
  EXPECT_NO_THROW(detail::validate_metadata(Json{{"n", INT64_MIN}}, false, "test"));

  EXPECT_EQ(parse_json(R"({"a":[1,{"b":-9223372036854775808}],"c":1.5e300,"d":"x"})", "t"),
            Json::parse(R"({"a":[1,{"b":-9223372036854775808}],"c":1.5e300,"d":"x"})"));
  try {
    parse_json(R"({"a":[1,{"b":18446744073709551616}]})", "--where");
    ADD_FAILURE() << "2^64 as an integer literal was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--where: the integer 18446744073709551616 is out of range"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_json("[1, 2", "t"), Error);
  EXPECT_THROW(parse_json("", "t"), Error);
  EXPECT_EQ(parse_json("  {\"k\": {}} ", "t"), Json::parse(R"({"k":{}})"));
}

TEST(VectorFilter, NegationsMatchRecordsWithoutTheKey) {
  Json without = {{"other", 1}};
  EXPECT_TRUE(where_matches({{"kind", {{"$ne", "fact"}}}}, without));
  EXPECT_TRUE(where_matches({{"kind", {{"$nin", {"fact", "x"}}}}}, without));
  EXPECT_TRUE(where_matches({{"tags", {{"$not_contains", "a"}}}}, without));
  EXPECT_TRUE(where_matches({{"kind", {{"$ne", "fact"}}}}, nullptr));
  EXPECT_FALSE(where_matches({{"kind", {{"$gt", 1}}}}, without)) << "comparisons need the key";
  EXPECT_FALSE(where_matches({{"kind", {{"$in", {"fact"}}}}}, without));
}

TEST(VectorFilter, ContainsOnListValues) {
  Json m = {{"tags", {"a", "b"}}, {"nums", {1, 2}}, {"name", "abc"}};
  EXPECT_TRUE(where_matches({{"tags", {{"$contains", "a"}}}}, m));
  EXPECT_FALSE(where_matches({{"tags", {{"$contains", "c"}}}}, m));
  EXPECT_TRUE(where_matches({{"nums", {{"$contains", 2.0}}}}, m));
  EXPECT_FALSE(where_matches({{"name", {{"$contains", "a"}}}}, m)) << "$contains applies to lists only";
  EXPECT_TRUE(where_matches({{"tags", {{"$not_contains", "c"}}}}, m));
  EXPECT_FALSE(where_matches({{"tags", {{"$not_contains", "b"}}}}, m));
}

TEST(VectorFilter, LogicalOperators) {
  Json m = {{"a", 1}, {"b", "x"}};
  EXPECT_TRUE(where_matches({{"$and", {{{"a", 1}}, {{"b", "x"}}}}}, m));
  EXPECT_FALSE(where_matches({{"$and", {{{"a", 1}}, {{"b", "y"}}}}}, m));
  EXPECT_TRUE(where_matches({{"$or", {{{"a", 2}}, {{"b", "x"}}}}}, m));
  EXPECT_FALSE(where_matches({{"$or", {{{"a", 2}}, {{"b", "y"}}}}}, m));
  EXPECT_TRUE(where_matches({{"$or", {{{"$and", {{{"a", 1}}, {{"b", "x"}}}}}, {{"a", 5}}}}}, m));
}

TEST(VectorFilter, WhereDocument) {
  EXPECT_TRUE(doc_matches({{"$contains", "cof"}}, "I like coffee"));
  EXPECT_FALSE(doc_matches({{"$contains", "Coffee"}}, "I like coffee")) << "case-sensitive";
  EXPECT_FALSE(doc_matches({{"$contains", "x"}}, std::nullopt));
  EXPECT_TRUE(doc_matches({{"$not_contains", "x"}}, std::nullopt));
  EXPECT_TRUE(doc_matches({{"$regex", "^I .*ee$"}}, "I like coffee"));
  EXPECT_FALSE(doc_matches({{"$not_regex", "c.f"}}, "I like coffee"));
  EXPECT_TRUE(doc_matches({{"$and", {{{"$contains", "like"}}, {{"$not_contains", "tea"}}}}}, "I like coffee"));
}

TEST(VectorFilter, MalformedFiltersAreRejectedClearly) {
  expect_invalid({{"a", {{"$foo", 1}}}}, nullptr, "unknown operator '$foo'");
  expect_invalid({{"$nor", {1}}}, nullptr, "unknown operator '$nor'");
  expect_invalid({{"a", 1}, {"b", 2}}, nullptr, "exactly one key");
  expect_invalid({{"a", {{"$gt", "x"}}}}, nullptr, "expects a number");
  expect_invalid({{"a", {{"$in", Json::array()}}}}, nullptr, "non-empty list");
  expect_invalid({{"a", {{"$in", {1, "x"}}}}}, nullptr, "one type");
  expect_invalid({{"a", {{"$eq", 1}, {"$ne", 2}}}}, nullptr, "exactly one operator");
  expect_invalid({{"$and", Json::array()}}, nullptr, "non-empty list");
  expect_invalid({{"$and", {{{"a", {{"$bad", 1}}}}}}}, nullptr, "where.$and[0]");
  expect_invalid(Json::array({1}), nullptr, "expected an object");
  expect_invalid({{"a", {1, 2}}}, nullptr, "exactly one operator");
  expect_invalid(nullptr, {{"$contains", ""}}, "non-empty string");
  expect_invalid(nullptr, {{"$like", "x"}}, "unknown operator '$like'");
  expect_invalid(nullptr, {{"$regex", "("}}, "invalid regular expression");
}

TEST(VectorFilter, MetadataValidation) {
  EXPECT_NO_THROW(detail::validate_metadata({{"a", 1}, {"b", 2.5}, {"c", "x"}, {"d", true}, {"e", {1, 2}}}, false, "r"));
  EXPECT_THROW(detail::validate_metadata({{"e", {1, "x"}}}, false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"e", Json::array()}}, false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"e", {{"nested", 1}}}}, false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"$k", 1}}, false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"k", nullptr}}, false, "r"), Error);
  EXPECT_NO_THROW(detail::validate_metadata({{"k", nullptr}}, true, "r"));
  EXPECT_THROW(detail::validate_metadata(Json::array({1}), false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"k", std::string("\xff")}}, false, "r"), Error);
  EXPECT_THROW(detail::validate_metadata({{"k", std::nan("")}}, false, "r"), Error);
  Json merged = detail::merge_metadata({{"a", 1}, {"b", 2}}, {{"b", nullptr}, {"c", 3}});
  EXPECT_EQ(merged, Json({{"a", 1}, {"c", 3}}));
  EXPECT_TRUE(detail::merge_metadata({{"a", 1}}, {{"a", nullptr}}).is_null());
}

TEST(VectorFilter, AgreesWithReferenceEvaluatorOnRandomMetadata) {
  testing::RandomFilters random(1234);
  std::vector<Json> records;
  for (int i = 0; i < 200; ++i) records.push_back(random.metadata());
  int checked = 0, matched = 0;
  for (int round = 0; round < 300; ++round) {
    Json where = random.where();
    Filter f = Filter::compile(where, nullptr);
    for (const auto& m : records) {
      bool expected = testing::reference_where(where, m);
      ASSERT_EQ(f.matches(m, std::nullopt), expected) << where.dump() << " on " << m.dump();
      ++checked;
      matched += expected;
    }
  }
  EXPECT_GT(matched, checked / 10) << "the random filters should match a fair share";
  EXPECT_LT(matched, checked * 9 / 10);
}

}  // namespace
}  // namespace lunadb::vector

// The same grammar through a collection's get(), on both VectorStore implementations: the
// edge rules above, malformed filters refused before anything runs, and the random comparison
// against the reference evaluator.
namespace lunadb::vector {
namespace {

class VectorFilterBackends : public ::testing::TestWithParam<test::VectorBackendKind> {
 protected:
  std::shared_ptr<Collection> collection_with(const std::vector<Json>& metadatas, test::VectorBackendFixture& backend) {
    store_ = backend.open();
    CollectionConfig config;
    config.name = "filters";
    config.dimension = 2;
    auto c = store_->create_collection(config);
    std::vector<Record> records;
    for (std::size_t i = 0; i < metadatas.size(); ++i) {
      records.push_back(testing::make_record("r" + std::to_string(i), {1.0f, float(i + 1)},
                                             i % 3 == 0 ? std::nullopt : std::optional<std::string>("doc " + std::to_string(i) + " coffee"),
                                             metadatas[i]));
    }
    c->add(records);
    return c;
  }
  static std::vector<std::string> ids_where(Collection& c, const Json& where, const Json& where_document = nullptr) {
    GetRequest g;
    g.where = where;
    g.where_document = where_document;
    return c.get(g).ids;
  }
  std::unique_ptr<VectorStore> store_;
};

TEST_P(VectorFilterBackends, EdgeRules) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  const Json big = Json::parse(R"({"n": 3, "x": 2.5, "big": 9007199254740993, "huge": 1152921504606846976.0, "tags": ["a", "b"], "nums": [1, 2], "ok": true, "s": "abc"})");
  auto c = collection_with({big, Json{{"other", 1}}, nullptr}, backend);
  using V = std::vector<std::string>;
  EXPECT_EQ(ids_where(*c, {{"n", 3.0}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"x", {{"$lt", 3}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"n", {{"$in", {1.0, 3.0}}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"big", std::int64_t{9007199254740993}}}), V{"r0"}) << "exact beyond 2^53";
  EXPECT_EQ(ids_where(*c, {{"big", std::int64_t{9007199254740992}}}), V{});
  EXPECT_EQ(ids_where(*c, {{"big", {{"$gt", 9007199254740992.0}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"huge", std::int64_t{1152921504606846976}}}), V{"r0"}) << "an integral float equals the integer";
  EXPECT_EQ(ids_where(*c, {{"huge", {{"$lt", std::int64_t{1152921504606846977}}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"ok", 1}}), V{}) << "bool is not an int";
  EXPECT_EQ(ids_where(*c, {{"ok", {{"$gt", 0}}}}), V{}) << "booleans are not numbers";
  EXPECT_EQ(ids_where(*c, {{"s", {{"$gt", 0}}}}), V{});
  EXPECT_EQ(ids_where(*c, {{"n", {{"$ne", 3}}}}), (V{"r1", "r2"})) << "$ne matches records without the key";
  EXPECT_EQ(ids_where(*c, {{"s", {{"$nin", {"abc"}}}}}), (V{"r1", "r2"}));
  EXPECT_EQ(ids_where(*c, {{"tags", {{"$contains", "a"}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"nums", {{"$contains", 2.0}}}}), V{"r0"});
  EXPECT_EQ(ids_where(*c, {{"s", {{"$contains", "a"}}}}), V{}) << "$contains applies to lists only";
  EXPECT_EQ(ids_where(*c, {{"tags", {{"$not_contains", "a"}}}}), (V{"r1", "r2"}));
  EXPECT_EQ(ids_where(*c, nullptr, {{"$contains", "coffee"}}), (V{"r1", "r2"}));
  EXPECT_EQ(ids_where(*c, nullptr, {{"$not_contains", "doc 1"}}), (V{"r0", "r2"})) << "no document matches the negation";
  EXPECT_EQ(ids_where(*c, nullptr, {{"$regex", "^doc [12] c.f+ee$"}}), (V{"r1", "r2"}));
  EXPECT_EQ(ids_where(*c, {{"$or", {{{"n", 3}}, {{"other", 1}}}}}, {{"$not_regex", "2"}}), (V{"r0", "r1"}));
  // The regex path pages after filtering.
  GetRequest paged;
  paged.where_document = {{"$regex", "coffee"}};
  paged.offset = 1;
  paged.limit = 5;
  EXPECT_EQ(c->get(paged).ids, V{"r2"});
  // A float that is integral keeps its type on the way back.
  GetRequest one;
  one.ids = {"r0"};
  EXPECT_EQ(c->get(one).metadatas.at(0), big);
  EXPECT_TRUE(c->get(one).metadatas.at(0)["huge"].is_number_float());
}

TEST_P(VectorFilterBackends, MalformedFiltersAreRefusedAndNothingIsDeleted) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  auto c = collection_with({Json{{"a", 1}}, Json{{"a", 2}}}, backend);
  for (const auto& [where, fragment] : std::vector<std::pair<Json, std::string>>{
           {{{"a", {{"$foo", 1}}}}, "unknown operator '$foo'"},
           {{{"$and", {{{"a", {{"$bad", 1}}}}}}}, "where.$and[0]"},
           {{{"a", {{"$gt", "x"}}}}, "expects a number"},
       }) {
    try {
      c->get(GetRequest{{}, where, nullptr, std::nullopt, 0, include_documents});
      ADD_FAILURE() << "accepted " << where.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_THROW(c->remove(DeleteRequest{{}, where, nullptr}), Error);
  }
  EXPECT_THROW(c->remove(DeleteRequest{{}, nullptr, {{"$regex", "("}}}), Error);
  EXPECT_EQ(c->count(), 2u);
}

TEST_P(VectorFilterBackends, AgreesWithReferenceEvaluatorOnRandomMetadata) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  testing::RandomFilters random(4321);
  std::vector<Json> records;
  for (int i = 0; i < 60; ++i) records.push_back(random.metadata());
  auto c = collection_with(records, backend);
  for (int round = 0; round < 80; ++round) {
    Json where = random.where();
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (testing::reference_where(where, records[i])) expected.push_back("r" + std::to_string(i));
    }
    ASSERT_EQ(ids_where(*c, where), expected) << where.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorFilterBackends,
                         ::testing::ValuesIn(test::vector_backend_kinds()),
                         [](const auto& param_info) { return test::backend_name(param_info.param); });

}  // namespace
}  // namespace lunadb::vector
