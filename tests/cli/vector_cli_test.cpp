// `lunadb vectors ...` as a user runs it: the real binary, a clean environment, a vector store in
// a temp dir, and a real loopback embedding server for lines without vectors.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <algorithm>
#include <vector>

#include "support/fake_embedding_server.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace {

using lunadb::test::FakeEmbeddingServer;
using lunadb::test::run_command;
using lunadb::test::TempDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `[prefix |] lunadb vectors <args>` in `dir` with a clean environment whose CHROMA_PATH and
// LUNA_DATA_DIR point into `dir`, plus `env` (KEY=VALUE words).
Result vectors(const TempDir& dir, const std::string& args, const std::string& env = "", const std::string& prefix = "",
               bool through_terminal = false) {
  const std::string out_file = (dir / "cli.out").string(), err_file = (dir / "cli.err").string();
  // In a subshell: run_command appends 2>&1, which must not undo our stderr redirection.
  std::string command = "(cd " + quote(dir.path().string()) + " && " + (prefix.empty() ? "" : prefix + " | ") +
                        "env -i PATH=\"$PATH\" HOME=\"$HOME\" CHROMA_PATH=" + quote((dir / "chroma").string()) +
                        " LUNA_DATA_DIR=" + quote((dir / "data").string()) + " " + env + " " + LUNADB_CLI_PATH +
                        " vectors " + args + " >" + quote(out_file) + " 2>" + quote(err_file) + ")";
  if (through_terminal) {
    // stdout and stderr both go to the terminal, which `script` copies to cli.out.
    command = "script -qec " + quote("cd " + quote(dir.path().string()) + " && env -i PATH=\"$PATH\" CHROMA_PATH=" +
                                      quote((dir / "chroma").string()) + " " + env + " " + LUNADB_CLI_PATH +
                                      " vectors " + args) +
              " /dev/null >" + quote(out_file) + " 2>" + quote(err_file) + " </dev/null";
  }
  Result result{};
  result.code = run_command("(" + command + ")");
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

std::string describe(const Result& r) { return "exit " + std::to_string(r.code) + "\nstdout: " + r.out + "\nstderr: " + r.err; }

std::size_t count_of(const TempDir& dir, const std::string& collection) {
  Result r = vectors(dir, "count --collection " + collection);
  EXPECT_EQ(r.code, 0) << describe(r);
  return r.code == 0 ? std::stoul(r.out) : 0;
}

std::vector<float> test_vector(std::size_t i, std::size_t dimension) {
  std::vector<float> v(dimension);
  for (std::size_t d = 0; d < dimension; ++d) v[d] = std::sin(float(i * 7 + d * 3 + 1)) * 0.5f + (d == i % dimension ? 1.0f : 0.0f);
  return v;
}

Json record_json(std::size_t i, std::size_t dimension) {
  Json line;
  line["id"] = "r" + std::to_string(i);
  line["embedding"] = test_vector(i, dimension);
  line["document"] = "document number " + std::to_string(i);
  line["metadata"] = {{"kind", i % 2 == 0 ? "even" : "odd"}, {"n", i}};
  return line;
}

std::string jsonl(std::size_t begin, std::size_t end, std::size_t dimension) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += record_json(i, dimension).dump() + "\n";
  return out;
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<Json> parse_lines(const std::string& text) {
  std::vector<Json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(Json::parse(line));
  return lines;
}

std::vector<float> floats(const Json& list) {
  std::vector<float> out;
  for (const auto& x : list) out.push_back(static_cast<float>(x.get<double>()));
  return out;
}

TEST(VectorsCli, HelpOnEverySubcommand) {
  TempDir dir;
  for (std::string command : {"", "list", "stats", "count", "get", "query", "delete", "import", "export", "copy"}) {
    Result r = vectors(dir, command + " --help");
    EXPECT_EQ(r.code, 0) << command << ": " << describe(r);
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << command;
  }
  EXPECT_FALSE(fs::exists(dir / "chroma"));
}

TEST(VectorsCli, ImportCountGetQueryExportRoundTrip) {
  TempDir dir;
  const std::string input = jsonl(0, 30, 4);
  write_text(dir / "in.jsonl", input);

  Result imported = vectors(dir, "import in.jsonl --collection notes --batch 8");
  ASSERT_EQ(imported.code, 0) << describe(imported);
  EXPECT_NE(imported.out.find("imported 30 records into 'notes' in 4 batches"), std::string::npos) << imported.out;
  EXPECT_EQ(imported.err, "");  // stderr is not a terminal: no progress
  EXPECT_EQ(count_of(dir, "notes"), 30u);

  Result list = vectors(dir, "list");
  ASSERT_EQ(list.code, 0) << describe(list);
  EXPECT_NE(list.out.find("notes"), std::string::npos) << list.out;
  Result list_json = vectors(dir, "list --json");
  ASSERT_EQ(list_json.code, 0) << describe(list_json);
  Json rows = Json::parse(list_json.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["count"], 30);
  EXPECT_EQ(rows[0]["dimension"], 4);
  EXPECT_EQ(rows[0]["distance"], "cosine");
  EXPECT_EQ(rows[0]["embedding_model"], "");

  Result stats = vectors(dir, "stats --collection notes --json");
  ASSERT_EQ(stats.code, 0) << describe(stats);
  Json s = Json::parse(stats.out);
  EXPECT_EQ(s["count"], 30);
  EXPECT_EQ(s["hnsw_active"], false);
  EXPECT_GE(s["last_seq"].get<int>(), 30);
  Result stats_text = vectors(dir, "stats --collection notes");
  EXPECT_NE(stats_text.out.find("records          30"), std::string::npos) << stats_text.out;

  Result get = vectors(dir, "get --collection notes --ids r3,r1");
  ASSERT_EQ(get.code, 0) << describe(get);
  Json got = Json::parse(get.out);
  EXPECT_EQ(got["ids"], Json::array({"r1", "r3"}));  // insertion order
  EXPECT_EQ(got["documents"], Json::array({"document number 1", "document number 3"}));
  EXPECT_EQ(got["metadatas"][1]["n"], 3);
  EXPECT_FALSE(got.contains("embeddings"));

  Result filtered = vectors(dir, "get --collection notes --where '{\"kind\":\"even\"}' --limit 3 --offset 1 --include metadatas");
  ASSERT_EQ(filtered.code, 0) << describe(filtered);
  Json even = Json::parse(filtered.out);
  EXPECT_EQ(even["ids"], Json::array({"r2", "r4", "r6"}));
  EXPECT_FALSE(even.contains("documents"));
  EXPECT_EQ(even["metadatas"][0]["kind"], "even");

  Result by_document = vectors(dir, "get --collection notes --where-document '{\"$contains\":\"number 17\"}'");
  ASSERT_EQ(by_document.code, 0) << describe(by_document);
  EXPECT_EQ(Json::parse(by_document.out)["ids"], Json::array({"r17"}));

  const std::string probe = Json(test_vector(5, 4)).dump();
  Result query = vectors(dir, "query --collection notes --k 3 --embedding '" + probe + "'");
  ASSERT_EQ(query.code, 0) << describe(query);
  Json q = Json::parse(query.out);
  ASSERT_EQ(q["ids"].size(), 1u);
  ASSERT_EQ(q["ids"][0].size(), 3u);
  EXPECT_EQ(q["ids"][0][0], "r5");
  EXPECT_NEAR(q["distances"][0][0].get<double>(), 0.0, 1e-5);
  EXPECT_LE(q["distances"][0][0].get<double>(), q["distances"][0][1].get<double>());
  EXPECT_EQ(q["documents"][0][0], "document number 5");
  EXPECT_EQ(q["metadatas"][0][0]["n"], 5);

  Result filtered_query = vectors(dir, "query --collection notes --embedding '" + probe + "' --where '{\"kind\":\"even\"}'");
  ASSERT_EQ(filtered_query.code, 0) << describe(filtered_query);
  Json fq = Json::parse(filtered_query.out);
  EXPECT_EQ(fq["ids"][0].size(), 6u);  // MEMORY_RETRIEVAL_COUNT default
  for (const auto& m : fq["metadatas"][0]) EXPECT_EQ(m["kind"], "even");

  Result exported = vectors(dir, "export --collection notes --page 7");
  ASSERT_EQ(exported.code, 0) << describe(exported);
  auto original = parse_lines(input), lines = parse_lines(exported.out);
  ASSERT_EQ(lines.size(), original.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["id"], original[i]["id"]);
    EXPECT_EQ(lines[i]["document"], original[i]["document"]);
    EXPECT_EQ(lines[i]["metadata"], original[i]["metadata"]);
    EXPECT_EQ(floats(lines[i]["embedding"]), floats(original[i]["embedding"])) << i;  // bit-exact floats
  }

  // Both ends open the same store, which admits one process at a time; the exporter starts late
  // so that the importer is already waiting on its stdin.
  Result copy = vectors(dir, "import - --collection copy", "",
                        "{ sleep 0.5; env -i PATH=\"$PATH\" CHROMA_PATH=" + quote((dir / "chroma").string()) + " " +
                            LUNADB_CLI_PATH + " vectors export --collection notes; }");
  ASSERT_EQ(copy.code, 0) << describe(copy);
  EXPECT_EQ(count_of(dir, "copy"), 30u);
  Result copy_exported = vectors(dir, "export --collection copy");
  EXPECT_EQ(copy_exported.out, exported.out);
}

TEST(VectorsCli, ProgressOnlyWhenStderrIsATerminal) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 10, 4));
  Result plain = vectors(dir, "import in.jsonl --collection c --batch 4");
  ASSERT_EQ(plain.code, 0) << describe(plain);
  EXPECT_EQ(plain.err, "");
  // `script` gives the command a pseudo-terminal.
  Result terminal = vectors(dir, "import in.jsonl --collection c --batch 4 --upsert", "", "",
                            /*through_terminal=*/true);
  ASSERT_EQ(terminal.code, 0) << describe(terminal);
  EXPECT_NE(terminal.out.find("\rimporting into 'c': 8 records, 2 batches"), std::string::npos) << terminal.out;
  Result forced = vectors(dir, "import in.jsonl --collection c --batch 4 --upsert --progress");
  ASSERT_EQ(forced.code, 0) << describe(forced);
  EXPECT_NE(forced.err.find("committed batch 3 (10 records, through line 10)"), std::string::npos) << forced.err;
}

TEST(VectorsCli, ImportsFromStdinWithAChosenDistance) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 30, 3) + "\n   \n");  // blank lines are skipped
  Result r = vectors(dir, "import - --collection piped --batch 7 --distance l2", "", "cat in.jsonl");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_NE(r.out.find("imported 30 records into 'piped' in 5 batches"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("distance l2"), std::string::npos) << r.out;
  EXPECT_EQ(count_of(dir, "piped"), 30u);
  Json s = Json::parse(vectors(dir, "stats --collection piped --json").out);
  EXPECT_EQ(s["distance"], "l2");

  Result wrong_distance = vectors(dir, "import in.jsonl --collection piped --upsert --distance ip");
  EXPECT_EQ(wrong_distance.code, 2) << describe(wrong_distance);
  EXPECT_NE(wrong_distance.err.find("distance l2"), std::string::npos) << wrong_distance.err;
}

TEST(VectorsCli, LinesWithoutEmbeddingAreEmbeddedByTheProvider) {
  FakeEmbeddingServer server;
  server.set_dimension(8);
  TempDir dir;
  std::string input;
  for (int i = 0; i < 10; ++i) {
    input += Json{{"id", "d" + std::to_string(i)}, {"document", "remember thing " + std::to_string(i)}}.dump() + "\n";
  }
  write_text(dir / "docs.jsonl", input);
  const std::string env = "OLLAMA_BASE_URL=" + server.base_url() + " OLLAMA_EMBED_MODEL=test-embed EMBED_BATCH_SIZE=4";

  Result imported = vectors(dir, "import docs.jsonl --collection memories --batch 5", env);
  ASSERT_EQ(imported.code, 0) << describe(imported);
  EXPECT_NE(imported.out.find("10 embedded by the provider"), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("model 'test-embed'"), std::string::npos) << imported.out;
  EXPECT_EQ(count_of(dir, "memories"), 10u);
  // Batches of 5 lines, EMBED_BATCH_SIZE 4: 4 + 1 texts per batch.
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.json()["model"], "test-embed");
    EXPECT_LE(request.json()["input"].size(), 4u);
  }

  Json stats = Json::parse(vectors(dir, "stats --collection memories --json").out);
  EXPECT_EQ(stats["embedding_model"], "test-embed");
  EXPECT_EQ(stats["dimension"], 8);

  Result get = vectors(dir, "get --collection memories --ids d3 --include embeddings,documents");
  ASSERT_EQ(get.code, 0) << describe(get);
  Json got = Json::parse(get.out);
  EXPECT_EQ(floats(got["embeddings"][0]), FakeEmbeddingServer::vector_for("test-embed", "remember thing 3", 8));

  Result query = vectors(dir, "query --collection memories --text 'remember thing 7' --k 2", env);
  ASSERT_EQ(query.code, 0) << describe(query);
  Json q = Json::parse(query.out);
  EXPECT_EQ(q["ids"][0][0], "d7");
  EXPECT_NEAR(q["distances"][0][0].get<double>(), 0.0, 1e-5);

  // Another model: refused before any request, with the way to re-embed.
  const std::size_t requests_before = server.request_count();
  const std::string other = "OLLAMA_BASE_URL=" + server.base_url() + " OLLAMA_EMBED_MODEL=other-model";
  Result mismatch = vectors(dir, "query --collection memories --text 'remember thing 7'", other);
  EXPECT_EQ(mismatch.code, 1) << describe(mismatch);
  EXPECT_NE(mismatch.err.find("test-embed"), std::string::npos) << mismatch.err;
  EXPECT_NE(mismatch.err.find("re-embed"), std::string::npos) << mismatch.err;
  write_text(dir / "more.jsonl", Json{{"id", "d99"}, {"document", "one more"}}.dump() + "\n");
  Result import_mismatch = vectors(dir, "import more.jsonl --collection memories", other);
  EXPECT_EQ(import_mismatch.code, 1) << describe(import_mismatch);
  EXPECT_NE(import_mismatch.err.find("OLLAMA_EMBED_MODEL"), std::string::npos) << import_mismatch.err;
  Result declared_mismatch = vectors(dir, "import docs.jsonl --collection fresh --model declared-model", env);
  EXPECT_EQ(declared_mismatch.code, 2) << describe(declared_mismatch);
  EXPECT_NE(declared_mismatch.err.find("test-embed"), std::string::npos) << declared_mismatch.err;
  EXPECT_EQ(server.request_count(), requests_before);
  EXPECT_EQ(count_of(dir, "memories"), 10u);

  // The documented re-embed path: export without vectors, import under the new model.
  Result reembed = vectors(dir, "import - --collection memories-v2", other,
                           "env -i PATH=\"$PATH\" CHROMA_PATH=" + quote((dir / "chroma").string()) + " " + LUNADB_CLI_PATH +
                               " vectors export --collection memories --no-embeddings");
  ASSERT_EQ(reembed.code, 0) << describe(reembed);
  EXPECT_EQ(count_of(dir, "memories-v2"), 10u);
  Json v2 = Json::parse(vectors(dir, "stats --collection memories-v2 --json").out);
  EXPECT_EQ(v2["embedding_model"], "other-model");
}

TEST(VectorsCli, EmbeddingServerDownFailsNamingTheLines) {
  TempDir dir;
  write_text(dir / "docs.jsonl", Json{{"id", "a"}, {"document", "text"}}.dump() + "\n");
  const std::string env = "OLLAMA_BASE_URL=http://127.0.0.1:" + std::to_string(lunadb::test::closed_loopback_port()) +
                          " EMBED_MAX_RETRIES=0 EMBED_TIMEOUT=2";
  Result r = vectors(dir, "import docs.jsonl --collection c", env);
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("docs.jsonl line 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was imported"), std::string::npos) << r.err;
  EXPECT_EQ(vectors(dir, "count --collection c").code, 1);  // no empty collection left behind
}

TEST(VectorsCli, MalformedLineNamesTheLineAndWritesNothingOfItsBatch) {
  TempDir dir;
  write_text(dir / "good.jsonl", jsonl(0, 5, 4));
  ASSERT_EQ(vectors(dir, "import good.jsonl --collection c").code, 0);
  write_text(dir / "bad.jsonl", jsonl(5, 8, 4) + "{\"id\": \"broken\", \"embedding\": [1, 2,\n" + jsonl(8, 9, 4));
  Result r = vectors(dir, "import bad.jsonl --collection c");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("bad.jsonl line 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
  EXPECT_EQ(count_of(dir, "c"), 5u);

  // Earlier whole batches stay committed and the message says how many.
  Result partial = vectors(dir, "import bad.jsonl --collection c --batch 2");
  EXPECT_EQ(partial.code, 1) << describe(partial);
  EXPECT_NE(partial.err.find("2 records in 1 batch were committed"), std::string::npos) << partial.err;
  EXPECT_EQ(count_of(dir, "c"), 7u);

  for (const char* line : {"[1, 2]", "{\"embedding\": [1, 2, 3, 4]}", "{\"id\": 7, \"embedding\": [1, 2, 3, 4]}",
                           "{\"id\": \"x\", \"embedding\": [1, \"a\", 3, 4]}", "{\"id\": \"x\"}",
                           "{\"id\": \"x\", \"embeddings\": [1, 2, 3, 4]}", "{\"id\": \"x\", \"embedding\": [1e300, 2, 3, 4]}"}) {
    write_text(dir / "one.jsonl", std::string(line) + "\n");
    Result bad = vectors(dir, "import one.jsonl --collection c");
    EXPECT_EQ(bad.code, 1) << line << ": " << describe(bad);
    EXPECT_NE(bad.err.find("one.jsonl line 1"), std::string::npos) << line << ": " << bad.err;
  }
  EXPECT_EQ(count_of(dir, "c"), 7u);
}

TEST(VectorsCli, WrongDimensionNamesLineAndId) {
  TempDir dir;
  write_text(dir / "good.jsonl", jsonl(0, 5, 4));
  ASSERT_EQ(vectors(dir, "import good.jsonl --collection c").code, 0);
  write_text(dir / "wrong.jsonl", jsonl(10, 12, 4) + jsonl(12, 13, 3));
  Result r = vectors(dir, "import wrong.jsonl --collection c");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("r12"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expects 4"), std::string::npos) << r.err;
  EXPECT_EQ(count_of(dir, "c"), 5u);

  Result query = vectors(dir, "query --collection c --embedding '[1, 2]'");
  EXPECT_EQ(query.code, 1) << describe(query);
  EXPECT_NE(query.err.find("dimension"), std::string::npos) << query.err;
}

TEST(VectorsCli, ExistingIdsNeedUpsert) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 5, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection c").code, 0);
  Result again = vectors(dir, "import in.jsonl --collection c");
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_NE(again.err.find("upsert"), std::string::npos) << again.err;
  Json changed = record_json(2, 4);
  changed["document"] = "changed";
  write_text(dir / "changed.jsonl", changed.dump() + "\n" + jsonl(5, 6, 4));
  Result upsert = vectors(dir, "import changed.jsonl --collection c --upsert");
  ASSERT_EQ(upsert.code, 0) << describe(upsert);
  EXPECT_EQ(count_of(dir, "c"), 6u);
  EXPECT_EQ(Json::parse(vectors(dir, "get --collection c --ids r2").out)["documents"][0], "changed");
}

TEST(VectorsCli, IdsWithCommasRepeatedIdsAndIdsOnlyGet) {
  TempDir dir;
  write_text(dir / "in.jsonl", R"({"id":"fact,1","embedding":[1,0],"document":"comma"})"
                               "\n"
                               R"({"id":"c","embedding":[0,1],"document":"plain"})"
                               "\n"
                               R"({"id":"d","embedding":[1,1],"document":"third"})"
                               "\n");
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection t").code, 0);

  Result listed = vectors(dir, R"(get --collection t --ids '["fact,1","c"]')");
  ASSERT_EQ(listed.code, 0) << describe(listed);
  EXPECT_EQ(Json::parse(listed.out)["ids"], Json::parse(R"(["fact,1","c"])"));
  EXPECT_EQ(Json::parse(listed.out)["documents"][0], "comma");

  // Repeated --ids and the comma form add up; --include '' gives ids only, as include=[] does.
  Result repeated = vectors(dir, "get --collection t --ids c --ids d,nothing --include ''");
  ASSERT_EQ(repeated.code, 0) << describe(repeated);
  EXPECT_EQ(Json::parse(repeated.out), Json::parse(R"({"ids":["c","d"]})"));
  Result all_ids = vectors(dir, "get --collection t --include ''");
  EXPECT_EQ(Json::parse(all_ids.out), Json::parse(R"({"ids":["fact,1","c","d"]})")) << describe(all_ids);
  Result query_ids = vectors(dir, "query --collection t --embedding '[1,0]' -k 1 --include ''");
  EXPECT_EQ(Json::parse(query_ids.out), Json::parse(R"({"ids":[["fact,1"]]})")) << describe(query_ids);

  // The comma form splits: "fact,1" is two ids there and matches nothing.
  EXPECT_EQ(Json::parse(vectors(dir, "get --collection t --ids fact,1").out)["ids"], Json::array());

  Result not_strings = vectors(dir, R"(get --collection t --ids '["c",1]')");
  EXPECT_NE(not_strings.code, 0);
  EXPECT_NE(not_strings.err.find("--ids"), std::string::npos) << describe(not_strings);
  Result bad_json = vectors(dir, "get --collection t --ids '[\"c\"'");
  EXPECT_NE(bad_json.code, 0);
  EXPECT_NE(bad_json.err.find("--ids"), std::string::npos) << describe(bad_json);

  Result deleted = vectors(dir, R"(delete --collection t --ids '["fact,1"]')");
  ASSERT_EQ(deleted.code, 0) << describe(deleted);
  EXPECT_EQ(count_of(dir, "t"), 2u);

  // The id limit is stated in the error: 4096 bytes are accepted, 4097 are not.
  write_text(dir / "long.jsonl", Json{{"id", std::string(4096, 'x')}, {"embedding", {1, 0}}}.dump() + "\n");
  EXPECT_EQ(vectors(dir, "import long.jsonl --collection t").code, 0);
  write_text(dir / "longer.jsonl", Json{{"id", std::string(4097, 'x')}, {"embedding", {1, 0}}}.dump() + "\n");
  Result too_long = vectors(dir, "import longer.jsonl --collection t");
  EXPECT_EQ(too_long.code, 1) << describe(too_long);
  EXPECT_NE(too_long.err.find("4097 bytes; ids are limited to 4096 bytes"), std::string::npos) << describe(too_long);
  EXPECT_EQ(count_of(dir, "t"), 3u);
}

TEST(VectorsCli, DeleteNeedsAFilter) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 10, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection c").code, 0);
  Result empty = vectors(dir, "delete --collection c");
  EXPECT_EQ(empty.code, 2) << describe(empty);
  EXPECT_NE(empty.err.find("--where"), std::string::npos) << empty.err;
  EXPECT_EQ(count_of(dir, "c"), 10u);

  Result by_where = vectors(dir, "delete --collection c --where '{\"kind\":\"odd\"}'");
  ASSERT_EQ(by_where.code, 0) << describe(by_where);
  EXPECT_NE(by_where.out.find("deleted 5 records"), std::string::npos) << by_where.out;
  Result by_ids = vectors(dir, "delete --collection c --ids r0,r2,r3");  // r3 is already gone
  ASSERT_EQ(by_ids.code, 0) << describe(by_ids);
  EXPECT_NE(by_ids.out.find("deleted 2 records"), std::string::npos) << by_ids.out;
  Result by_document = vectors(dir, "delete --collection c --where-document '{\"$contains\":\"number 4\"}'");
  EXPECT_NE(by_document.out.find("deleted 1 record "), std::string::npos) << by_document.out;
  EXPECT_EQ(Json::parse(vectors(dir, "get --collection c").out)["ids"], Json::array({"r6", "r8"}));
}

// Issue 13's reproductions, through the binary: a 50,000-character document under $regex (the
// process used to die with SIGSEGV), a regex over UTF-8 characters, an integer above 2^53 against a
// float, and #document inside --where; in get, query and delete.
TEST(VectorsCli, RegexOnLongDocumentsUtf8AndExactIntegersDoNotCrashOrMismatch) {
  TempDir dir;
  Json big = {{"id", "big"}, {"embedding", {0.1, 0.2, 0.3}}, {"document", std::string(50'000, 'a')}};
  Json jp = {{"id", "jp"}, {"embedding", {0.3, 0.2, 0.1}}, {"document", "テキスト"}, {"metadata", {{"n", 9007199254740993LL}}}};
  write_text(dir / "in.jsonl", big.dump() + "\n" + jp.dump() + "\n");
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection big").code, 0);
  Result all = vectors(dir, "get --collection big --where-document '{\"$regex\":\".*\"}'");
  ASSERT_EQ(all.code, 0) << describe(all);
  EXPECT_EQ(Json::parse(all.out)["ids"], Json::array({"big", "jp"}));
  Result queried = vectors(dir, "query --collection big --embedding '[0.1,0.2,0.3]' --k 2 --where-document '{\"$regex\":\"^a+$\"}'");
  ASSERT_EQ(queried.code, 0) << describe(queried);
  EXPECT_EQ(Json::parse(queried.out)["ids"], Json::parse(R"([["big"]])"));
  Result utf8 = vectors(dir, "get --collection big --where-document '{\"$regex\":\"テ.スト\"}'");
  EXPECT_EQ(Json::parse(utf8.out)["ids"], Json::array({"jp"})) << describe(utf8);
  Result exact = vectors(dir, "get --collection big --where '{\"n\":{\"$gt\":9007199254740992.0}}'");
  EXPECT_EQ(Json::parse(exact.out)["ids"], Json::array({"jp"})) << describe(exact);
  Result in_where = vectors(dir, "get --collection big --where '{\"#document\":{\"$contains\":\"テキ\"}}'");
  EXPECT_EQ(Json::parse(in_where.out)["ids"], Json::array({"jp"})) << describe(in_where);
  Result deleted = vectors(dir, "delete --collection big --where-document '{\"$regex\":\"^a+$\"}'");
  ASSERT_EQ(deleted.code, 0) << describe(deleted);
  EXPECT_NE(deleted.out.find("deleted 1 record "), std::string::npos) << deleted.out;
  EXPECT_EQ(count_of(dir, "big"), 1u);
}

TEST(VectorsCli, UpdateChangesOneRecordAndReembedsANewDocument) {
  FakeEmbeddingServer server;
  server.set_dimension(4);
  TempDir dir;
  const std::string env = "OLLAMA_BASE_URL=" + server.base_url() + " OLLAMA_EMBED_MODEL=test-embed";
  write_text(dir / "in.jsonl", Json{{"id", "a"}, {"document", "first text"}, {"metadata", {{"kind", "fact"}, {"n", 1}}}}.dump() +
                                   "\n" + Json{{"id", "b"}, {"document", "second text"}}.dump() + "\n");
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection u", env).code, 0);

  // Metadata merges key by key; null removes a key; the vector and document stay.
  Result merged = vectors(dir, R"(update --collection u --id a --metadata '{"n":2,"kind":null,"new":true}')");
  ASSERT_EQ(merged.code, 0) << describe(merged);
  Json a = Json::parse(vectors(dir, "get --collection u --ids a --include documents,metadatas,embeddings").out);
  EXPECT_EQ(a["metadatas"][0], Json::parse(R"({"n":2,"new":true})"));
  EXPECT_EQ(a["documents"][0], "first text");
  EXPECT_EQ(floats(a["embeddings"][0]), FakeEmbeddingServer::vector_for("test-embed", "first text", 4));

  // A new document is embedded by the provider, as Chroma's embedding function would.
  Result redoc = vectors(dir, "update --collection u --id a --document 'changed text'", env);
  ASSERT_EQ(redoc.code, 0) << describe(redoc);
  a = Json::parse(vectors(dir, "get --collection u --ids a --include documents,embeddings").out);
  EXPECT_EQ(a["documents"][0], "changed text");
  EXPECT_EQ(floats(a["embeddings"][0]), FakeEmbeddingServer::vector_for("test-embed", "changed text", 4));
  // --keep-embedding changes the text only; --embedding sets the vector.
  ASSERT_EQ(vectors(dir, "update --collection u --id a --document 'third' --keep-embedding").code, 0);
  a = Json::parse(vectors(dir, "get --collection u --ids a --include documents,embeddings").out);
  EXPECT_EQ(a["documents"][0], "third");
  EXPECT_EQ(floats(a["embeddings"][0]), FakeEmbeddingServer::vector_for("test-embed", "changed text", 4));
  ASSERT_EQ(vectors(dir, "update --collection u --id b --embedding '[1,0,0,0]'").code, 0);
  Result nearest = vectors(dir, "query --collection u --embedding '[1,0,0,0]' -k 1 --include distances");
  EXPECT_EQ(Json::parse(nearest.out)["ids"][0][0], "b") << describe(nearest);

  // A missing id, nothing to change, a wrong dimension: errors, nothing written.
  Result missing = vectors(dir, R"(update --collection u --id nope --metadata '{"x":1}')");
  EXPECT_EQ(missing.code, 1) << describe(missing);
  EXPECT_NE(missing.err.find("no record with id 'nope'"), std::string::npos) << describe(missing);
  EXPECT_EQ(vectors(dir, "update --collection u --id a").code, 2);
  Result wrong_dim = vectors(dir, "update --collection u --id b --embedding '[1,0]'");
  EXPECT_EQ(wrong_dim.code, 1) << describe(wrong_dim);
  EXPECT_NE(wrong_dim.err.find("dimension"), std::string::npos) << describe(wrong_dim);
  EXPECT_EQ(count_of(dir, "u"), 2u);
}

// Integers are 64-bit signed everywhere: 2^63 and 2^64 are refused alike, in metadata and filters,
// instead of one being refused and the other silently stored as a float.
TEST(VectorsCli, IntegersBeyondInt64AreRefusedAlikeAndEmptyMetadataIsNone) {
  TempDir dir;
  write_text(dir / "ok.jsonl", R"({"id":"max","embedding":[1,0],"metadata":{"n":9223372036854775807}})"
                               "\n"
                               R"({"id":"min","embedding":[0,1],"metadata":{"n":-9223372036854775808}})"
                               "\n"
                               R"({"id":"empty","embedding":[1,1],"metadata":{}})"
                               "\n");
  Result ok = vectors(dir, "import ok.jsonl --collection n");
  ASSERT_EQ(ok.code, 0) << describe(ok);
  Json got = Json::parse(vectors(dir, "get --collection n").out);
  EXPECT_EQ(got["metadatas"][0]["n"].get<std::int64_t>(), INT64_MAX);
  EXPECT_EQ(got["metadatas"][1]["n"].get<std::int64_t>(), INT64_MIN);
  EXPECT_TRUE(got["metadatas"][2].is_null()) << "{} is stored as no metadata: " << got.dump();

  for (const std::string literal : {"9223372036854775808", "18446744073709551616", "-9223372036854775809",
                                    "100000000000000000000000"}) {
    write_text(dir / "big.jsonl", R"({"id":"big","embedding":[1,0],"metadata":{"n":)" + literal + "}}\n");
    Result refused = vectors(dir, "import big.jsonl --collection n");
    EXPECT_EQ(refused.code, 1) << literal << ": " << describe(refused);
    EXPECT_NE(refused.err.find("64-bit signed"), std::string::npos) << literal << ": " << describe(refused);
    Result filtered = vectors(dir, "get --collection n --where '{\"n\":{\"$lt\":" + literal + "}}'");
    EXPECT_NE(filtered.code, 0) << literal << ": " << describe(filtered);
    EXPECT_NE(filtered.err.find("64-bit signed"), std::string::npos) << literal << ": " << describe(filtered);
    Result in_list = vectors(dir, "get --collection n --where '{\"n\":{\"$in\":[1," + literal + "]}}'");
    EXPECT_NE(in_list.code, 0) << literal << ": " << describe(in_list);
  }
  // Written as a float, a large number is a float, and compares exactly with the integers.
  Result as_float = vectors(dir, R"(get --collection n --where '{"n":{"$lt":9223372036854775808.0}}')");
  ASSERT_EQ(as_float.code, 0) << describe(as_float);
  EXPECT_EQ(Json::parse(as_float.out)["ids"], Json::parse(R"(["max","min"])"));
  EXPECT_EQ(count_of(dir, "n"), 3u);
}

TEST(VectorsCli, QueryEffortOptions) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 50, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection e").code, 0);
  Result exact = vectors(dir, "query --collection e --embedding '[1,0,0,0]' -k 3 --exact --include distances");
  ASSERT_EQ(exact.code, 0) << describe(exact);
  Result ef = vectors(dir, "query --collection e --embedding '[1,0,0,0]' -k 3 --ef 40 --include distances");
  ASSERT_EQ(ef.code, 0) << describe(ef);
  EXPECT_EQ(Json::parse(exact.out)["ids"], Json::parse(ef.out)["ids"]);
  EXPECT_EQ(vectors(dir, "query --collection e --embedding '[1,0,0,0]' --exact --ef 40").code, 2);
  EXPECT_EQ(vectors(dir, "query --collection e --embedding '[1,0,0,0]' --ef 0").code, 2);
  Json stats = Json::parse(vectors(dir, "stats --collection e --json").out);
  EXPECT_NE(stats["search_plan"].get<std::string>().find("exact scan"), std::string::npos) << stats.dump();
}

// Luna keeps ChromaDB's files in CHROMA_PATH: read-only commands pointed there must not add
// lunadb-vectors.sqlite3 or LOCK beside them, nor change a byte.
TEST(VectorsCli, ReadOnlyCommandsCreateNothingInAFolderThatIsNotALunadbStore) {
  TempDir dir;
  const fs::path chroma = dir / "chroma";  // CHROMA_PATH as vectors() sets it
  fs::create_directories(chroma / "635dbf62-1766-4f14-b898-a5716114bbe2");
  ASSERT_EQ(run_command("sqlite3 " + quote((chroma / "chroma.sqlite3").string()) +
                        " 'CREATE TABLE collections (id TEXT, name TEXT); INSERT INTO collections VALUES (1, 2)'"),
            0);
  write_text(chroma / "635dbf62-1766-4f14-b898-a5716114bbe2/header.bin", "hnsw");
  auto listing = [&] {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& entry : fs::recursive_directory_iterator(chroma)) {
      files.emplace_back(entry.path().string(), entry.is_regular_file() ? read_file(entry.path()) : "");
    }
    std::sort(files.begin(), files.end());
    return files;
  };
  const auto before = listing();
  for (const char* command : {"list", "list --json", "count --collection luna_facts", "stats --collection luna_facts",
                              "get --collection luna_facts", "export --collection luna_facts",
                              "query --collection luna_facts --embedding '[0.1,0.2]'"}) {
    Result r = vectors(dir, command);
    EXPECT_NE(r.err.find("holds ChromaDB's files and no lunadb vector store"), std::string::npos) << command << ": " << describe(r);
    EXPECT_EQ(listing(), before) << command;
  }
}

TEST(VectorsCli, BadFiltersAndOptions) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 4, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection c").code, 0);

  Result op = vectors(dir, "get --collection c --where '{\"n\":{\"$foo\":1}}'");
  EXPECT_EQ(op.code, 1) << describe(op);
  EXPECT_NE(op.err.find("$foo"), std::string::npos) << op.err;
  Result delete_op = vectors(dir, "delete --collection c --where '{\"n\":{\"$foo\":1}}'");
  EXPECT_EQ(delete_op.code, 1) << describe(delete_op);
  Result doc_op = vectors(dir, "query --collection c --embedding '[1,0,0,0]' --where-document '{\"$bar\":\"x\"}'");
  EXPECT_EQ(doc_op.code, 1) << describe(doc_op);
  EXPECT_NE(doc_op.err.find("$bar"), std::string::npos) << doc_op.err;
  Result bad_json = vectors(dir, "get --collection c --where '{not json'");
  EXPECT_EQ(bad_json.code, 1) << describe(bad_json);
  EXPECT_NE(bad_json.err.find("--where"), std::string::npos) << bad_json.err;
  EXPECT_EQ(count_of(dir, "c"), 4u);

  for (const char* command : {"count", "stats", "get", "export", "delete --ids a", "query --embedding [1]", "import in.jsonl"}) {
    Result missing = vectors(dir, command);
    EXPECT_EQ(missing.code, 2) << command << ": " << describe(missing);
    EXPECT_NE(missing.err.find("--collection"), std::string::npos) << command << ": " << missing.err;
  }
  Result include = vectors(dir, "get --collection c --include distances");
  EXPECT_EQ(include.code, 2) << describe(include);
  Result neither = vectors(dir, "query --collection c");
  EXPECT_EQ(neither.code, 2) << describe(neither);
  Result both = vectors(dir, "query --collection c --embedding '[1,0,0,0]' --text hi");
  EXPECT_EQ(both.code, 2) << describe(both);
  Result zero_k = vectors(dir, "query --collection c --embedding '[1,0,0,0]' --k 0");
  EXPECT_EQ(zero_k.code, 2) << describe(zero_k);
  Result zero_batch = vectors(dir, "import in.jsonl --collection c --batch 0");
  EXPECT_EQ(zero_batch.code, 2) << describe(zero_batch);
  Result missing_file = vectors(dir, "import nosuch.jsonl --collection c");
  EXPECT_EQ(missing_file.code, 1) << describe(missing_file);
  EXPECT_NE(missing_file.err.find("nosuch.jsonl"), std::string::npos) << missing_file.err;
}

TEST(VectorsCli, UnknownCollection) {
  TempDir dir;
  for (const char* command : {"count", "stats", "get", "export", "delete --ids a", "query --embedding [1]"}) {
    Result r = vectors(dir, std::string(command) + " --collection nope");
    EXPECT_EQ(r.code, 1) << command << ": " << describe(r);
    EXPECT_NE(r.err.find("'nope' does not exist"), std::string::npos) << command << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "chroma"));  // reading never creates the store
  Result list = vectors(dir, "list");
  EXPECT_EQ(list.code, 0) << describe(list);
  EXPECT_NE(list.out.find("no collections"), std::string::npos) << list.out;

  write_text(dir / "in.jsonl", jsonl(0, 2, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection other").code, 0);
  Result r = vectors(dir, "count --collection nope");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("vectors list"), std::string::npos) << r.err;
}

// A SIGKILLed import keeps whole batches only, and `--upsert` of the same input completes it.
// Starts `lunadb <args>` in `dir` with the clean environment `vectors` uses; the given file
// descriptors become its stdin / stdout / stderr (-1: /dev/null). Returns the child's pid.
pid_t spawn_lunadb(const TempDir& dir, std::vector<std::string> args, int in_fd, int out_fd, int err_fd,
                   const std::vector<int>& close_in_child) {
  const std::string chroma = "CHROMA_PATH=" + (dir / "chroma").string();
  const std::string data = "LUNA_DATA_DIR=" + (dir / "data").string();
  const std::string path = std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  args.insert(args.begin(), LUNADB_CLI_PATH);
  const pid_t child = ::fork();
  if (child != 0) return child;
  const int null_fd = ::open("/dev/null", O_RDWR);
  ::dup2(in_fd >= 0 ? in_fd : null_fd, STDIN_FILENO);
  ::dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO);
  ::dup2(err_fd >= 0 ? err_fd : null_fd, STDERR_FILENO);
  for (int fd : close_in_child) ::close(fd);
  if (::chdir(dir.path().c_str()) != 0) ::_exit(127);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string env_words[] = {path, chroma, data};
  for (auto& e : env_words) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

TEST(VectorsCliKill, KilledImportKeepsWholeBatchesAndUpsertResumes) {
  TempDir dir;
  constexpr std::size_t kRecords = 20000, kBatch = 100, kDimension = 8;
  const std::string input = jsonl(0, kRecords, kDimension);
  write_text(dir / "big.jsonl", input);

  int stdin_pipe[2], stderr_pipe[2];
  ASSERT_EQ(::pipe(stdin_pipe), 0);
  ASSERT_EQ(::pipe(stderr_pipe), 0);
  const pid_t child = spawn_lunadb(dir, {"vectors", "import", "-", "--collection", "big", "--batch", std::to_string(kBatch), "--progress"},
                                   stdin_pipe[0], -1, stderr_pipe[1],
                                   {stdin_pipe[0], stdin_pipe[1], stderr_pipe[0], stderr_pipe[1]});
  ASSERT_GE(child, 0);
  ::close(stdin_pipe[0]);
  ::close(stderr_pipe[1]);

  // Writing into a pipe whose reader was killed must fail with EPIPE, not kill the test.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::thread writer([fd = stdin_pipe[1], &input] {
    std::size_t written = 0;
    while (written < input.size()) {
      ssize_t n = ::write(fd, input.data() + written, std::min<std::size_t>(4096, input.size() - written));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });

  // Kill once a few batches are committed: the import is then mid-stream.
  FILE* progress = ::fdopen(stderr_pipe[0], "r");
  ASSERT_NE(progress, nullptr);
  char line[512];
  int committed_lines = 0;
  std::string seen;
  while (committed_lines < 5 && std::fgets(line, sizeof line, progress)) {
    seen += line;
    if (std::string(line).rfind("committed batch", 0) == 0) ++committed_lines;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  writer.join();
  std::fclose(progress);
  ::sigaction(SIGPIPE, &previous, nullptr);
  ASSERT_EQ(committed_lines, 5) << seen;
  ASSERT_TRUE(WIFSIGNALED(status)) << "the import ended before it was killed: " << seen;

  const std::size_t after_kill = count_of(dir, "big");
  EXPECT_GE(after_kill, 5 * kBatch);
  EXPECT_LT(after_kill, kRecords);
  EXPECT_EQ(after_kill % kBatch, 0u) << after_kill;

  Result resumed = vectors(dir, "import big.jsonl --collection big --upsert --batch 1000");
  ASSERT_EQ(resumed.code, 0) << describe(resumed);
  EXPECT_EQ(count_of(dir, "big"), kRecords);
  Json last = Json::parse(vectors(dir, "get --collection big --ids r19999 --include embeddings").out);
  EXPECT_EQ(floats(last["embeddings"][0]), test_vector(19999, kDimension));
}


// `lunadb serve` holds the store; the vectors commands find its address beside the lock and go
// through it instead of failing with "busy". After SIGTERM the address file is gone; after a
// SIGKILL it is left behind, ignored, and the commands open the store themselves.
pid_t start_server(const TempDir& dir, int& port) {
  int stdout_pipe[2];
  if (::pipe(stdout_pipe) != 0) return -1;
  const pid_t child = spawn_lunadb(dir, {"serve", "--port", "0", "--threads", "2"}, -1, stdout_pipe[1], -1,
                                   {stdout_pipe[0], stdout_pipe[1]});
  ::close(stdout_pipe[1]);
  FILE* out = ::fdopen(stdout_pipe[0], "r");
  char line[256] = {};
  port = 0;
  if (out && std::fgets(line, sizeof line, out)) {
    const std::string text = line;
    const auto colon = text.rfind(':');
    if (text.rfind("listening on ", 0) == 0 && colon != std::string::npos) port = std::atoi(text.c_str() + colon + 1);
  }
  if (out) std::fclose(out);
  return child;
}

int stop_server(pid_t child, int signal_number) {
  ::kill(child, signal_number);
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

TEST(VectorsCliServer, CommandsGoThroughTheServerThatHoldsTheStore) {
  TempDir dir;
  write_text(dir / "in.jsonl", jsonl(0, 50, 4));
  ASSERT_EQ(vectors(dir, "import in.jsonl --collection held").code, 0);
  int port = 0;
  const pid_t server = start_server(dir, port);
  ASSERT_GT(server, 0);
  ASSERT_GT(port, 0) << "lunadb serve did not say where it listens";
  const std::string address = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(read_file(dir / "chroma" / "lunadb-serve.address"), address + "\n");

  Result count = vectors(dir, "count --collection held");
  EXPECT_EQ(count.code, 0) << describe(count);
  EXPECT_EQ(count.out, "50\n");
  EXPECT_NE(count.err.find("held by lunadb serve at " + address), std::string::npos) << count.err;

  write_text(dir / "more.jsonl", jsonl(50, 80, 4));
  Result imported = vectors(dir, "import more.jsonl --collection held --batch 7");
  EXPECT_EQ(imported.code, 0) << describe(imported);
  // Local semantics hold through the server: an existing id needs --upsert.
  Result again = vectors(dir, "import more.jsonl --collection held");
  EXPECT_NE(again.code, 0) << describe(again);
  Result updated = vectors(dir, "update --collection held --id r3 --metadata '{\"seen\":true}'");
  EXPECT_EQ(updated.code, 0) << describe(updated);
  Result missing = vectors(dir, "update --collection held --id nope --metadata '{\"seen\":true}'");
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  Json got = Json::parse(vectors(dir, "get --collection held --where '{\"seen\":true}'").out);
  EXPECT_EQ(got["ids"], Json({"r3"}));
  Result query = vectors(dir, "query --collection held --embedding '[0,1,2,3]' --k 3 --exact");
  EXPECT_EQ(query.code, 0) << describe(query);
  EXPECT_EQ(Json::parse(query.out)["ids"][0].size(), 3u);
  Result deleted = vectors(dir, "delete --collection held --ids r0,r1,zzz");
  EXPECT_NE(deleted.out.find("deleted 2 records"), std::string::npos) << describe(deleted);
  Result stats = vectors(dir, "stats --collection held --json");
  EXPECT_EQ(stats.code, 0) << describe(stats);
  EXPECT_EQ(Json::parse(stats.out)["count"], 78);
  Result exported = vectors(dir, "export --collection held");
  EXPECT_EQ(std::count(exported.out.begin(), exported.out.end(), '\n'), 78);
  Result listed = vectors(dir, "list --json");
  EXPECT_EQ(Json::parse(listed.out)[0]["count"], 78);

  const int status = stop_server(server, SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(fs::exists(dir / "chroma" / "lunadb-serve.address"));
  Result local = vectors(dir, "count --collection held");
  EXPECT_EQ(local.out, "78\n");
  EXPECT_EQ(local.err.find("lunadb serve"), std::string::npos) << local.err;

  // A killed server leaves its address file; the lock is free, so the commands work locally.
  const pid_t killed = start_server(dir, port);
  ASSERT_GT(port, 0);
  stop_server(killed, SIGKILL);
  EXPECT_TRUE(fs::exists(dir / "chroma" / "lunadb-serve.address"));
  Result after_kill = vectors(dir, "count --collection held");
  EXPECT_EQ(after_kill.code, 0) << describe(after_kill);
  EXPECT_EQ(after_kill.out, "78\n");
}

// ---------------------------------------------------------------------------------------------
// VECTOR_BACKEND=pgvector: the same commands against a fresh database on the pgvector test server,
// and `vectors copy` between the two backends. VECTOR_URL carries a password (the test server
// trusts, so any works) that no output may show.

constexpr const char* kVectorPassword = "Vect0rS3cretPw";

std::string vector_url(const lunadb::test::FreshDatabase& db) {
  const auto& url = db.url();
  std::string text = "postgresql://" + url.user + ":" + kVectorPassword + "@" + url.host;
  if (url.port) text += ":" + std::to_string(*url.port);
  return text + "/" + url.database;
}
std::string pgvector_env(const lunadb::test::FreshDatabase& db) {
  return "VECTOR_BACKEND=pgvector VECTOR_URL=" + quote(vector_url(db));
}
void expect_no_password(const Result& r) {
  EXPECT_EQ(r.out.find(kVectorPassword), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kVectorPassword), std::string::npos) << r.err;
}

TEST(VectorsCliPgvector, EveryCommandWorksUnchangedAgainstPgvector) {
  LUNADB_REQUIRE_SERVER(lunadb::test::pgvector_url());
  lunadb::test::FreshDatabase db(lunadb::test::pgvector_url());
  TempDir dir;
  const std::string env = pgvector_env(db);
  auto run = [&](const std::string& args, const std::string& prefix = "") {
    Result r = vectors(dir, args, env, prefix);
    expect_no_password(r);
    return r;
  };
  const std::string input = jsonl(0, 30, 4);
  write_text(dir / "in.jsonl", input);
  Result imported = run("import in.jsonl --collection notes --batch 8");
  ASSERT_EQ(imported.code, 0) << describe(imported);
  EXPECT_NE(imported.out.find("imported 30 records into 'notes' in 4 batches"), std::string::npos) << imported.out;
  Result piped = run("import - --collection piped --distance l2", "cat in.jsonl");
  ASSERT_EQ(piped.code, 0) << describe(piped);

  Result list = run("list --json");
  ASSERT_EQ(list.code, 0) << describe(list);
  Json rows = Json::parse(list.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["name"], "notes");
  EXPECT_EQ(rows[0]["count"], 30);
  EXPECT_EQ(rows[1]["distance"], "l2");
  Result stats = run("stats --collection notes --json");
  ASSERT_EQ(stats.code, 0) << describe(stats);
  EXPECT_EQ(Json::parse(stats.out)["count"], 30);
  EXPECT_EQ(run("count --collection notes").out, "30\n");

  Json got = Json::parse(run("get --collection notes --ids r3,r1").out);
  EXPECT_EQ(got["ids"], Json::array({"r1", "r3"}));
  EXPECT_EQ(got["metadatas"][1]["n"], 3);
  Json even = Json::parse(run("get --collection notes --where '{\"kind\":\"even\"}' --limit 3 --offset 1 --include metadatas").out);
  EXPECT_EQ(even["ids"], Json::array({"r2", "r4", "r6"}));
  EXPECT_EQ(Json::parse(run("get --collection notes --where-document '{\"$regex\":\"number 1[7]$\"}'").out)["ids"],
            Json::array({"r17"}));

  const std::string probe = Json(test_vector(5, 4)).dump();
  Result query = run("query --collection notes --k 3 --embedding '" + probe + "'");
  ASSERT_EQ(query.code, 0) << describe(query);
  Json q = Json::parse(query.out);
  EXPECT_EQ(q["ids"][0][0], "r5");
  EXPECT_NEAR(q["distances"][0][0].get<double>(), 0.0, 1e-5);
  Json fq = Json::parse(run("query --collection notes --embedding '" + probe + "' --where '{\"kind\":\"even\"}' --exact").out);
  EXPECT_EQ(fq["ids"][0].size(), 6u);
  for (const auto& m : fq["metadatas"][0]) EXPECT_EQ(m["kind"], "even");

  Result update = run("update --collection notes --id r2 --embedding '[0,0,0,1]' --metadata '{\"kind\":null,\"new\":true}'");
  ASSERT_EQ(update.code, 0) << describe(update);
  Json updated = Json::parse(run("get --collection notes --ids r2 --include embeddings,metadatas").out);
  EXPECT_EQ(updated["embeddings"][0], Json::array({0, 0, 0, 1}));
  EXPECT_EQ(updated["metadatas"][0], Json({{"n", 2}, {"new", true}}));
  Result removed = run("delete --collection notes --where '{\"n\":{\"$gte\":20}}'");
  ASSERT_EQ(removed.code, 0) << describe(removed);
  EXPECT_NE(removed.out.find("deleted 10 records"), std::string::npos) << removed.out;

  Result exported = run("export --collection piped --page 7");
  ASSERT_EQ(exported.code, 0) << describe(exported);
  auto original = parse_lines(input), lines = parse_lines(exported.out);
  ASSERT_EQ(lines.size(), original.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["id"], original[i]["id"]);
    EXPECT_EQ(lines[i]["metadata"], original[i]["metadata"]);
    EXPECT_EQ(floats(lines[i]["embedding"]), floats(original[i]["embedding"])) << i;  // bit-exact floats
  }

  Result unknown = run("count --collection nope");
  EXPECT_EQ(unknown.code, 1) << describe(unknown);
  EXPECT_NE(unknown.err.find("'nope' does not exist in the pgvector store at"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("(VECTOR_URL)"), std::string::npos) << unknown.err;
  EXPECT_FALSE(fs::exists(dir / "chroma"));  // nothing went to CHROMA_PATH
}

TEST(VectorsCliPgvector, CopyToPgvectorAndBackVerifiesEveryRecord) {
  LUNADB_REQUIRE_SERVER(lunadb::test::pgvector_url());
  lunadb::test::FreshDatabase db(lunadb::test::pgvector_url());
  TempDir dir, back;
  write_text(dir / "a.jsonl", jsonl(0, 45, 4));
  write_text(dir / "b.jsonl", jsonl(100, 110, 4));
  ASSERT_EQ(vectors(dir, "import a.jsonl --collection a").code, 0);
  ASSERT_EQ(vectors(dir, "import b.jsonl --collection b --distance l2").code, 0);
  const std::string url_only = "VECTOR_URL=" + quote(vector_url(db));  // VECTOR_BACKEND still embedded

  Result to_pg = vectors(dir, "copy --to pgvector --batch 10", url_only);
  expect_no_password(to_pg);
  ASSERT_EQ(to_pg.code, 0) << describe(to_pg);
  EXPECT_NE(to_pg.out.find("copied 'a': 45 records in 5 batches"), std::string::npos) << to_pg.out;
  EXPECT_NE(to_pg.out.find("45 queries by a record's own embedding found it"), std::string::npos) << to_pg.out;
  EXPECT_NE(to_pg.out.find("copied 'b': 10 records in 1 batch"), std::string::npos) << to_pg.out;
  EXPECT_NE(to_pg.out.find("***"), std::string::npos) << to_pg.out;  // the destination named, its password masked
  EXPECT_EQ(to_pg.err, "");  // not a terminal: no progress

  const std::string embedded_a = vectors(dir, "export --collection a").out;
  EXPECT_EQ(vectors(dir, "export --collection a", pgvector_env(db)).out, embedded_a);
  EXPECT_EQ(Json::parse(vectors(dir, "stats --collection b --json", pgvector_env(db)).out)["distance"], "l2");

  Result again = vectors(dir, "copy --to pgvector -c a", url_only);
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--upsert"), std::string::npos) << again.err;
  Result forced = vectors(dir, "copy --to pgvector -c a --upsert --batch 20 --progress", url_only);
  ASSERT_EQ(forced.code, 0) << describe(forced);
  EXPECT_NE(forced.err.find("copy 'a': committed batch 3 (45/45 records)"), std::string::npos) << forced.err;
  Result terminal = vectors(dir, "copy --to pgvector -c b --upsert --batch 4", url_only, "", /*through_terminal=*/true);
  ASSERT_EQ(terminal.code, 0) << describe(terminal);
  EXPECT_NE(terminal.out.find("\rcopying 'b': 8/10 records, 2 batches"), std::string::npos) << terminal.out;
  EXPECT_EQ(terminal.out.find(kVectorPassword), std::string::npos) << terminal.out;

  // Back out, after the deployment switched to pgvector: into an empty CHROMA_PATH.
  Result to_embedded = vectors(back, "copy --to embedded --batch 16", pgvector_env(db));
  expect_no_password(to_embedded);
  ASSERT_EQ(to_embedded.code, 0) << describe(to_embedded);
  EXPECT_NE(to_embedded.out.find("copied 'a': 45 records in 3 batches"), std::string::npos) << to_embedded.out;
  EXPECT_EQ(vectors(back, "export --collection a").out, embedded_a);
  EXPECT_EQ(count_of(back, "b"), 10u);

  Result unreachable = vectors(dir, "copy --to pgvector", "VECTOR_URL='postgresql://luna:" + std::string(kVectorPassword) +
                                                               "@127.0.0.1:1/luna' DB_CONNECT_TIMEOUT=2");
  expect_no_password(unreachable);
  EXPECT_EQ(unreachable.code, 1) << describe(unreachable);
  EXPECT_NE(unreachable.err.find("VECTOR_URL"), std::string::npos) << unreachable.err;
  Result no_source = vectors(back, "copy --to pgvector -c nope", url_only);
  EXPECT_EQ(no_source.code, 1) << describe(no_source);
  EXPECT_NE(no_source.err.find("'nope' does not exist"), std::string::npos) << no_source.err;
}

}  // namespace
