// The fast path for query embeddings (serve/embedding_json.hpp) against nlohmann's full parse,
// which it must match bit for bit whenever it takes a body: every JSON number form, bodies of
// every shape around the list, and a bounded random loop of generated and mutated bodies.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <string>

#include "lunadb/serve.hpp"
#include "lunadb/vector.hpp"
#include "serve/embedding_json.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::serve::detail {
namespace {

using nlohmann::json;

constexpr const char* kKey = "query_embeddings";

std::uint32_t bits(float value) { return std::bit_cast<std::uint32_t>(value); }

// What the server did before the fast path: the full parse, then get<float>() per number.
float generic_float(const std::string& token) { return json::parse(token).get<float>(); }

// When the fast path takes `body`, the full parse must accept it and give the same floats and
// the same rest. Returns whether it took the body.
bool agrees_with_full_parse(const std::string& body) {
  const auto split = split_embeddings(body, kKey);
  if (!split) return false;
  json full;
  try {
    full = json::parse(body);
  } catch (const json::exception& error) {
    ADD_FAILURE() << "fast path took a body the full parse rejects (" << error.what() << "): " << body;
    return true;
  }
  const json& lists = full[kKey];
  EXPECT_TRUE(lists.is_array()) << body;
  EXPECT_EQ(lists.size(), split->embeddings.size()) << body;
  for (std::size_t i = 0; i < std::min(lists.size(), split->embeddings.size()); ++i) {
    EXPECT_EQ(lists[i].size(), split->embeddings[i].size()) << body;
    for (std::size_t j = 0; j < std::min(lists[i].size(), split->embeddings[i].size()); ++j) {
      EXPECT_EQ(bits(lists[i][j].get<float>()), bits(split->embeddings[i][j])) << lists[i][j].dump() << " in " << body;
    }
  }
  json rest = full;
  rest[kKey] = nullptr;
  EXPECT_EQ(rest, split->rest) << body;
  return true;
}

TEST(EmbeddingJson, EveryNumberFormAsNlohmannReadsIt) {
  const char* tokens[] = {
      "0", "-0", "0.0", "-0.0", "0e0", "-0E-0", "1", "-1", "7", "0.1", "-0.1", "1.5", "1e5", "1E5", "1e+5",
      "1E-5", "-1.5e-3", "123.456e-7", "3.4028234663852886e38", "3.4028235677973366e38", "1e38", "1e39", "-1e39",
      "1.17549435e-38", "1e-45", "1.4e-45", "7e-46", "1e-46", "1e308", "1.7976931348623157e308", "1e-320", "4.9e-324", "2.4703282292062328e-324", "2.4703282292062327e-324", "1e-400", "-1e-400",
      "16777216", "16777217", "16777219", "-16777217", "9007199254740993", "1152921573326323713",
      "-1152921573326323713", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
      "-9223372036854775809", "18446744073709551615", "18446744073709551616", "123456789012345678901234567890",
      "0.000000000000000000000000000000000000000000001", "0.30000000000000004", "0.1000000000000000055511151231257827",
      "2.00000011920928955078125", "2.000000119209289550781251", "1.00000005960464477539062499",
      "1.000000059604644775390625", "1.000000059604644775390625000000000000000000000000000000001",
      "0.0123456789012345678901234567890123456789"};
  for (const char* token : tokens) {
    const auto fast = json_number_as_float(token);
    ASSERT_TRUE(fast.has_value()) << token;
    EXPECT_EQ(bits(*fast), bits(generic_float(token))) << token;
  }
}

// nlohmann refuses a number beyond double's range ("number overflow"), so the fast path must too.
TEST(EmbeddingJson, RefusesNumbersBeyondDoubleAsNlohmannDoes) {
  for (const char* token : {"1e400", "-1e400", "1.8e308", "-1.8e308", "1797693134862315807e291"}) {
    EXPECT_FALSE(json_number_as_float(token).has_value()) << token;
    EXPECT_THROW(json::parse(token), json::exception) << token;
  }
}

TEST(EmbeddingJson, RejectsWhatIsNotAJsonNumber) {
  for (const char* token : {"", "-", "+1", "01", "-01", "00", "1.", ".5", "-.5", "1e", "1e+", "1E-", "e5", "1.e5",
                            "NaN", "nan", "Infinity", "-Infinity", "inf", "0x10", "1.5x", " 1", "1 ", "1,", "--1",
                            "1e5.5", "true", "null", "\"1\""}) {
    EXPECT_FALSE(json_number_as_float(token).has_value()) << token;
  }
}

TEST(EmbeddingJson, TakesWellFormedBodiesOfAnyShape) {
  const std::string bodies[] = {
      R"({"query_embeddings": [[0.1, -2, 3e-3]], "n_results": 10, "include": ["metadatas", "documents", "distances"]})",
      R"({"where": {"topic": {"$in": [1, 2]}}, "where_document": null, "query_embeddings": [[1.0,2.0],[3,4]], "ids": null})",
      " \t\r\n{ \"query_embeddings\" :\n[ [ 1 , 2 ] , [ 3 ,4 ] ] \t} \n",
      R"({"query_embeddings": []})",
      R"({"query_embeddings": [[]]})",
      R"({"query_embeddings": [[], [1]], "x": {}})",
      // Strings around the list with brackets, quotes, escapes and the key's own name in them.
      R"({"where_document": {"$contains": "]]} \"query_embeddings\": [[9]] {\\"}, "query_embeddings": [[5]]})",
      R"({"a": "\u00e9\n\\", "b": [{"c": [[["]"]]]}], "query_embeddings": [[-0, -0.0, 1e-400]], "d": false})",
      R"({"query_embeddings": [[1]], "n_results": null, "e": 1.5e-3, "f": -0, "g": true})",
  };
  for (const auto& body : bodies) EXPECT_TRUE(agrees_with_full_parse(body)) << "fast path not taken: " << body;
}

TEST(EmbeddingJson, LeavesEverythingElseToTheFullParse) {
  const std::string bodies[] = {
      "",
      "[]",
      "null",
      "{}",
      R"({"n_results": 10})",                                     // no list
      R"({"query_embeddings": null})",                            // not a list
      R"({"query_embeddings": [[1, null]]})",                     // not all numbers
      R"({"query_embeddings": [[1, "2"]]})",
      R"({"query_embeddings": [1, 2]})",                          // not a list of lists
      R"({"query_embeddings": [[1, [2]]]})",
      R"({"query_embeddings": [[1,]]})",                          // JSON errors inside the list
      R"({"query_embeddings": [[1] [2]]})",
      R"({"query_embeddings": [[01]]})",
      R"({"query_embeddings": [[NaN]]})",
      R"({"query_embeddings": [[1e400]]})",                       // nlohmann: "number overflow"
      R"({"query_embeddings": [[1]], "query_embeddings": [[2]]})",  // repeated: nlohmann's rule decides
      R"({"query\u005fembeddings": [[1]], "query_embeddings": [[2]]})",  // escaped name
      R"({"query_embeddings": [[1]], "n_results": tru})",           // JSON errors elsewhere
      R"({"query_embeddings": [[1]], "x": [1, 2})",
      R"({"query_embeddings": [[1]], "x": "\x"})",
      R"({"query_embeddings": [[1]]} trailing)",
      R"({"query_embeddings": [[1]]}})",
      R"({"query_embeddings": [[1]])",
      "\xEF\xBB\xBF{\"query_embeddings\": [[1]]}",                // a byte order mark
      "{\"query_embeddings\": [[1]], \"s\": \"\xFF\"}",           // invalid UTF-8 elsewhere
  };
  for (const auto& body : bodies) EXPECT_FALSE(split_embeddings(body, kKey).has_value()) << body;
}

// Random numbers in every form, random white space, random other members; then random byte
// edits of the same bodies. Bounded and seeded, so a failure repeats.
TEST(EmbeddingJson, FuzzAgainstTheFullParse) {
  std::mt19937_64 random(20261207);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  const auto digits = [&](std::size_t count, bool leading_nonzero) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += static_cast<char>('0' + ((i == 0 && leading_nonzero) ? 1 + pick(9) : pick(10)));
    return out;
  };
  const auto number = [&] {
    std::string out = pick(3) == 0 ? "-" : "";
    if (pick(4) == 0) {
      out += "0";
    } else {
      out += digits(1 + pick(pick(8) == 0 ? 30 : 9), true);
    }
    if (pick(2) == 0) out += "." + digits(1 + pick(pick(5) == 0 ? 40 : 9), false);
    if (pick(3) == 0) {
      // Exponents down into the subnormals and below (zero), up to well below double's overflow
      // (which nlohmann refuses; RefusesNumbersBeyondDoubleAsNlohmannDoes covers it).
      out += pick(2) == 0 ? "e" : "E";
      const std::size_t sign = pick(3);
      if (sign == 1) out += "+";
      if (sign == 2) out += "-";
      const std::size_t exponent = sign == 2 ? pick(400) : pick(250);
      out += (pick(4) == 0 ? "0" : "") + std::to_string(exponent);
    }
    return out;
  };
  const auto space = [&] {
    static const char* forms[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    return std::string(forms[pick(7)]);
  };
  const auto other_value = [&]() -> std::string {
    static const char* values[] = {"null", "10", "true", "[\"metadatas\", \"documents\"]", "{\"a\": {\"$eq\": \"]\\\"[\"}}",
                                   "\"x\"", "{}", "[]", "-1.5e3"};
    return values[pick(9)];
  };
  std::size_t taken = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string list = "[";
    const std::size_t vectors = pick(3);
    for (std::size_t v = 0; v <= vectors; ++v) {
      if (v > 0) list += space() + "," + space();
      list += "[" + space();
      const std::size_t width = pick(12);
      for (std::size_t i = 0; i < width; ++i) {
        if (i > 0) list += space() + "," + space();
        list += number();
      }
      list += space() + "]";
    }
    list += "]";
    std::string body = space() + "{" + space();
    const std::size_t others = pick(4);
    const std::size_t at = pick(others + 1);
    for (std::size_t m = 0; m <= others; ++m) {
      if (m > 0) body += space() + "," + space();
      if (m == at) {
        body += "\"query_embeddings\"" + space() + ":" + space() + list;
      } else {
        body += "\"k" + std::to_string(m) + "\"" + space() + ":" + space() + other_value();
      }
    }
    body += space() + "}" + space();
    ASSERT_TRUE(agrees_with_full_parse(body)) << "fast path not taken: " << body;
    ++taken;
    // Mutations: most break the body (then the fast path must decline, or agree if still valid).
    for (int edit = 0; edit < 4; ++edit) {
      std::string mutated = body;
      const std::size_t where = pick(mutated.size());
      static const char alphabet[] = "0123456789-+.eE,[]{}\": \\nul";
      switch (pick(4)) {
        case 0: mutated.erase(where, 1); break;
        case 1: mutated.insert(where, 1, alphabet[pick(sizeof(alphabet) - 1)]); break;
        case 2: mutated[where] = alphabet[pick(sizeof(alphabet) - 1)]; break;
        default: mutated.resize(where); break;
      }
      agrees_with_full_parse(mutated);
    }
  }
  EXPECT_EQ(taken, 1500u);
}

// Through the API: a query whose body takes the fast path answers exactly as the same query whose
// body does not (its key spelled with an escape, which only the full parse reads).
TEST(EmbeddingJson, ApiAnswersAlikeWithAndWithoutTheFastPath) {
  test::TempDir dir{"lunadb-embedding-json"};
  auto store = vector::VectorStore::open(dir / "store");
  ServeOptions options;
  ChromaApi api(*store, options);
  const std::string collections = "/api/v2/tenants/default_tenant/databases/default_database/collections";
  const HttpReply created = api.handle({"POST", collections, {}, R"({"name": "fast", "metadata": {"hnsw:space": "cosine"}})"});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string base = collections + "/" + json::parse(created.body)["id"].get<std::string>();
  json add = {{"ids", json::array()}, {"embeddings", json::array()}, {"documents", json::array()}};
  std::mt19937 random(7);
  std::normal_distribution<float> gauss;
  for (int i = 0; i < 50; ++i) {
    json vector = json::array();
    for (int d = 0; d < 16; ++d) vector.push_back(gauss(random));
    add["ids"].push_back("r" + std::to_string(i));
    add["embeddings"].push_back(vector);
    add["documents"].push_back("doc " + std::to_string(i));
  }
  ASSERT_EQ(api.handle({"POST", base + "/add", {}, add.dump()}).status, 201);
  const std::string list = "[[0.25, -1, 3e-1, 0.5, 1, 1, -2, 0, 0, 0, 1.5E0, 2, -0.125, 0.75, 1e-3, 4]]";
  const std::string tail = R"(, "n_results": 5, "include": ["documents", "distances", "metadatas"]})";
  const HttpReply fast = api.handle({"POST", base + "/query", {}, "{\"query_embeddings\": " + list + tail});
  const HttpReply full = api.handle({"POST", base + "/query", {}, "{\"query\\u005fembeddings\": " + list + tail});
  EXPECT_EQ(fast.status, 200) << fast.body;
  EXPECT_EQ(fast.status, full.status);
  EXPECT_EQ(fast.body, full.body);
  // A wrong dimension and a malformed body keep their errors.
  const HttpReply wrong = api.handle({"POST", base + "/query", {}, R"({"query_embeddings": [[1, 2]]})"});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json::parse(wrong.body)["error"], "InvalidArgumentError");
  const HttpReply broken = api.handle({"POST", base + "/query", {}, R"({"query_embeddings": [[1, 2]], "n_results": tru})"});
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(json::parse(broken.body)["error"], "InvalidArgumentError");
  EXPECT_NE(json::parse(broken.body)["message"].get<std::string>().find("not valid JSON"), std::string::npos) << broken.body;
}

}  // namespace
}  // namespace lunadb::serve::detail
