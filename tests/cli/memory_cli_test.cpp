// `lunadb memory ...` as a user runs it: the real binary, a clean environment, SQLite and the
// embedded vector store in a temp dir, and the loopback embedding server.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"
#include "support/cli.hpp"
#include "support/fake_embedding_server.hpp"
#include "support/temp_dir.hpp"

namespace {

using lunadb::test::CliResult;
using lunadb::test::FakeEmbeddingServer;
using lunadb::test::TempDir;

class MemoryCli : public ::testing::Test {
 protected:
  static std::string env_in(const TempDir& dir, const std::string& embed_url) {
    return "DB_PATH='" + (dir / "luna.db").string() + "' CHROMA_PATH='" + (dir / "chroma").string() +
           "' OLLAMA_BASE_URL=" + embed_url + " OLLAMA_EMBED_MODEL=test-model EMBED_MAX_RETRIES=0";
  }
  std::string env(const std::string& embed_url) const { return env_in(dir_, embed_url); }
  CliResult run(const std::string& args) { return lunadb::test::run_lunadb(dir_, args, env(server_.base_url())); }
  CliResult run_upgraded(const std::string& args) {
    CliResult up = run("upgrade head");
    EXPECT_EQ(up.code, 0) << up.output;
    return run(args);
  }
  static bool has(const CliResult& r, const std::string& text) { return r.output.find(text) != std::string::npos; }

  // A fact written as Luna's Python code writes it: through the store, without an outbox entry.
  std::int64_t add_fact_behind_its_back(const std::string& content) {
    lunadb::Settings settings;
    settings.db.backend = lunadb::Backend::sqlite;
    settings.db.dialect = "sqlite";
    settings.db.database = (dir_ / "luna.db").string();
    settings.db_path = settings.db.database;
    auto store = lunadb::store::Store::open(settings);
    lunadb::store::Fact fact;
    fact.category = "behind";
    fact.content = content;
    return store.facts().add(fact).id;
  }

  TempDir dir_{"lunadb-memory-cli"};
  FakeEmbeddingServer server_;
};

TEST_F(MemoryCli, BeforeTheUpgradeItSaysWhatToRun) {
  CliResult r = run("memory stats");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(has(r, "lunadb upgrade head")) << r.output;
}

TEST_F(MemoryCli, HelpListsTheCommands) {
  CliResult r = run("memory --help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* command : {"remember", "recall", "forget", "reindex", "stats", "verify"}) EXPECT_TRUE(has(r, command)) << command;
}

TEST_F(MemoryCli, RememberRecallStatsForget) {
  CliResult first = run_upgraded("memory remember 'User drinks green tea every morning' --category preference --importance 0.8");
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_TRUE(has(first, "fact 1\n")) << first.output;
  EXPECT_TRUE(has(first, "vector applied")) << first.output;

  CliResult again = run("memory remember 'User drinks green tea every morning' --category preference");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_TRUE(has(again, "fact 2\n")) << again.output;
  EXPECT_TRUE(has(again, "near-duplicate fact 1 (similarity 1.000)")) << again.output;

  CliResult other = run("memory remember 'User trains for a marathon' --category goal --private");
  ASSERT_EQ(other.code, 0) << other.output;

  CliResult table = run("memory recall 'green tea' -k 2");
  ASSERT_EQ(table.code, 0) << table.output;
  EXPECT_TRUE(has(table, "v.sim")) << table.output;
  EXPECT_TRUE(has(table, "User drinks green tea every morning")) << table.output;
  EXPECT_FALSE(has(table, "marathon")) << "-k 2 keeps the two tea facts: " << table.output;

  CliResult json = run("memory recall marathon --category goal --json");
  ASSERT_EQ(json.code, 0) << json.output;
  auto parsed = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json.output;
  ASSERT_EQ(parsed["results"].size(), 1u) << json.output;
  EXPECT_EQ(parsed["results"][0]["id"], 3);
  EXPECT_EQ(parsed["results"][0]["is_private"], true);
  EXPECT_TRUE(parsed["results"][0]["scores"]["keyword_rank"].is_number()) << json.output;
  EXPECT_TRUE(parsed["results"][0]["scores"]["vector_similarity"].is_number()) << json.output;

  CliResult stats = run("memory stats");
  ASSERT_EQ(stats.code, 0) << stats.output;
  EXPECT_TRUE(has(stats, "facts     3\n")) << stats.output;
  EXPECT_TRUE(has(stats, "episodes  0\n")) << stats.output;
  EXPECT_TRUE(has(stats, "pending   0 outbox entries")) << stats.output;
  EXPECT_TRUE(has(stats, "collection 'luna_facts': 3 vectors, model 'test-model', dimension 8")) << stats.output;

  CliResult forget = run("memory forget --fact 2");
  ASSERT_EQ(forget.code, 0) << forget.output;
  EXPECT_TRUE(has(forget, "forgot fact 2")) << forget.output;
  EXPECT_TRUE(has(forget, "facts 1,")) << forget.output;
  EXPECT_TRUE(has(forget, "vectors 1")) << forget.output;
  EXPECT_TRUE(has(run("memory stats"), "facts     2\n"));

  CliResult none = run("memory forget --fact 2");
  EXPECT_EQ(none.code, 1) << none.output;
  EXPECT_TRUE(has(none, "nothing to forget for fact 2")) << none.output;
  EXPECT_EQ(run("memory forget").code, 2);
  EXPECT_EQ(run("memory forget --fact 1 --conversation 1").code, 2);
}

TEST_F(MemoryCli, RememberWithTheEmbeddingServerDownIsPendingThenApplied) {
  CliResult up = run("upgrade head");
  ASSERT_EQ(up.code, 0) << up.output;
  const std::string down = "http://127.0.0.1:" + std::to_string(lunadb::test::closed_loopback_port());
  CliResult r = lunadb::test::run_lunadb(dir_, "memory remember 'User owns a cat'", env(down));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r, "vector pending")) << r.output;
  CliResult pending = lunadb::test::run_lunadb(dir_, "memory stats", env(down));
  EXPECT_TRUE(has(pending, "pending   1 outbox entries")) << pending.output;
  // Opening the memory with the server back replays the outbox.
  CliResult verify = run("memory verify");
  EXPECT_EQ(verify.code, 0) << verify.output;
  EXPECT_TRUE(has(run("memory stats"), "pending   0 outbox entries"));
}

TEST_F(MemoryCli, VerifyFindsRowsWrittenBehindItsBackAndRepairFixesThem) {
  CliResult first = run_upgraded("memory remember 'User likes jazz'");
  ASSERT_EQ(first.code, 0) << first.output;
  CliResult ok = run("memory verify");
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_TRUE(has(ok, "ok: every row has its vector")) << ok.output;

  const auto id = add_fact_behind_its_back("User plays the cello");
  CliResult found = run("memory verify");
  EXPECT_EQ(found.code, 1) << found.output;
  EXPECT_TRUE(has(found, "1 facts without a vector: " + std::to_string(id))) << found.output;

  CliResult repaired = run("memory verify --repair");
  EXPECT_EQ(repaired.code, 0) << repaired.output;
  EXPECT_TRUE(has(repaired, "repaired")) << repaired.output;
  CliResult again = run("memory verify");
  EXPECT_EQ(again.code, 0) << again.output;
  CliResult recall = run("memory recall 'plays the cello' -k 1 --json");
  auto parsed = nlohmann::json::parse(recall.output, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << recall.output;
  ASSERT_EQ(parsed["results"].size(), 1u);
  EXPECT_EQ(parsed["results"][0]["id"], id);
  EXPECT_EQ(parsed["results"][0]["has_vector"], true);
}

// The facts of one memory, written through the store (no outbox entries: only the reindex embeds).
void add_facts(const std::filesystem::path& db, int count) {
  lunadb::Settings settings;
  settings.db.backend = lunadb::Backend::sqlite;
  settings.db.dialect = "sqlite";
  settings.db.database = db.string();
  settings.db_path = settings.db.database;
  auto store = lunadb::store::Store::open(settings);
  for (int i = 0; i < count; ++i) {
    lunadb::store::Fact fact;
    fact.category = "note";
    fact.content = "User note number " + std::to_string(i) + " about the garden";
    store.facts().add(fact);
  }
}

// Every vector of a collection, by id: (document, embedding).
std::map<std::string, std::pair<std::string, std::vector<float>>> vectors_of(const std::filesystem::path& chroma,
                                                                            const std::string& collection) {
  auto store = lunadb::vector::VectorStore::open(chroma);
  lunadb::vector::GetRequest get;
  get.include = lunadb::vector::include_documents | lunadb::vector::include_embeddings;
  auto got = store->get_collection(collection)->get(get);
  std::map<std::string, std::pair<std::string, std::vector<float>>> out;
  for (std::size_t i = 0; i < got.ids.size(); ++i) out[got.ids[i]] = {got.documents[i].value_or(""), got.embeddings[i]};
  return out;
}

std::size_t requests_for(const FakeEmbeddingServer& server, const std::string& model) {
  std::size_t n = 0;
  for (const auto& request : server.requests()) n += request.json().value("model", "") == model ? 1 : 0;
  return n;
}

TEST_F(MemoryCli, ReindexKilledAndRunAgainEqualsAnUninterruptedOne) {
  server_.set_model_dimension("model-b", 24);
  TempDir uninterrupted{"lunadb-memory-cli-whole"};
  const std::string batches = " EMBED_BATCH_SIZE=3";
  for (const TempDir* dir : {&dir_, &uninterrupted}) {
    CliResult up = lunadb::test::run_lunadb(*dir, "upgrade head", env_in(*dir, server_.base_url()));
    ASSERT_EQ(up.code, 0) << up.output;
    add_facts(dir->path() / "luna.db", 12);
  }
  CliResult whole =
      lunadb::test::run_lunadb(uninterrupted, "memory reindex --model model-b", env_in(uninterrupted, server_.base_url()) + batches);
  ASSERT_EQ(whole.code, 0) << whole.output;
  EXPECT_TRUE(has(whole, "facts: 12 rows embedded with 'model-b' into 'luna_facts_g2'")) << whole.output;
  EXPECT_FALSE(has(whole, "\r")) << "no progress lines when stderr is not a terminal: " << whole.output;

  // Slow answers, so the child is surely between batches when it is killed.
  server_.set_delay(std::chrono::milliseconds(150));
  const std::size_t before = requests_for(server_, "model-b");
  const std::string command = "cd '" + dir_.path().string() + "' && exec env -i PATH=\"$PATH\" HOME=\"$HOME\" " +
                              env_in(dir_, server_.base_url()) + batches + " " + LUNADB_CLI_PATH +
                              " memory reindex --model model-b >/dev/null 2>&1";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 1000 && requests_for(server_, "model-b") < before + 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the reindex ended before it was killed";
  server_.set_delay(std::chrono::milliseconds(0));

  CliResult stats = run("memory stats");
  ASSERT_EQ(stats.code, 0) << stats.output;
  EXPECT_TRUE(has(stats, "collection 'luna_facts': 0 vectors")) << stats.output;
  EXPECT_TRUE(has(stats, "reindex in progress: into 'luna_facts_g2' with model 'model-b'")) << stats.output;

  const std::size_t before_resume = requests_for(server_, "model-b");
  CliResult resumed = lunadb::test::run_lunadb(dir_, "memory reindex", env(server_.base_url()) + batches);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(has(resumed, "(resumed after row ")) << resumed.output;
  EXPECT_LT(requests_for(server_, "model-b") - before_resume, 4u) << "the resumed run skips the recorded batches";
  CliResult after = run("memory stats");
  EXPECT_TRUE(has(after, "collection 'luna_facts_g2': 12 vectors, model 'model-b', dimension 24")) << after.output;
  EXPECT_TRUE(has(after, "collection 'luna_episodes_g2': 0 vectors, model 'model-b'"))
      << "the episodes, not reached before the kill, get the interrupted run's model too: " << after.output;
  EXPECT_FALSE(has(after, "reindex in progress")) << after.output;
  CliResult verify = run("memory verify");
  EXPECT_EQ(verify.code, 0) << verify.output;

  auto killed_then_resumed = vectors_of(dir_.path() / "chroma", "luna_facts_g2");
  auto in_one_go = vectors_of(uninterrupted.path() / "chroma", "luna_facts_g2");
  EXPECT_EQ(killed_then_resumed.size(), 12u);
  EXPECT_EQ(killed_then_resumed, in_one_go) << "same ids, documents and vectors";
}

TEST_F(MemoryCli, ReindexRefusesAnUnknownCollection) {
  CliResult r = run_upgraded("memory reindex --collection luna_conversations");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r, "--collection")) << r.output;
}

TEST_F(MemoryCli, ReindexShowsProgressOnATerminal) {
  CliResult up = run("upgrade head");
  ASSERT_EQ(up.code, 0) << up.output;
  add_facts(dir_ / "luna.db", 5);
  // script(1) gives the command a terminal; without one (every other test) no progress is printed.
  const std::string command = "cd '" + dir_.path().string() + "' && env -i PATH=\"$PATH\" HOME=\"$HOME\" " +
                              env(server_.base_url()) + " EMBED_BATCH_SIZE=2 script -qec '" + LUNADB_CLI_PATH +
                              " memory reindex --collection luna_facts' /dev/null";
  std::string output;
  ASSERT_EQ(lunadb::test::run_command(command, &output), 0) << output;
  EXPECT_TRUE(has(CliResult{0, output}, "\rfacts -> 'luna_facts_g2' (test-model): 2/5 rows (40%)")) << output;
  EXPECT_TRUE(has(CliResult{0, output}, "5/5 rows (100%), switched")) << output;
  EXPECT_TRUE(has(CliResult{0, output}, "facts: 5 rows embedded with 'test-model' into 'luna_facts_g2'")) << output;
}

}  // namespace
