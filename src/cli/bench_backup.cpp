// `lunadb bench backup`: backup, restore and copy of a large Luna store, each beside the tool a
// user would otherwise reach for, in the same run on the same files:
//   - `lunadb backup` (backup::create_backup) beside `sqlite3 SRC ".backup DST"` and `cp`, for the
//     database alone, the vector store alone and both; and the time of each step lunadb's backup
//     takes (online copy, fsync, integrity_check, foreign_key_check, counts, SHA-256), since the
//     sqlite3 CLI does only the first of them;
//   - `lunadb restore` beside copying the set's files back with `cp`;
//   - `lunadb copy --to postgresql://...` into a scratch database, in rows/s;
//   - `pg_dump -Fc` / `pg_restore` of that PostgreSQL database, beside lunadb's own backup and
//     restore with DB_URL pointing at it (reported as "n/a: <why>" while that is unsupported).
// The data are Luna-shaped and not easy: conversations with messages of varied length over two
// years of timestamps, text from a large random vocabulary with numbers and ids (compressible
// about as much as real chat, not like repeated strings), facts, and random unit vectors of the
// embedding's dimension (incompressible). --data-dir keeps them between runs: generating 1M
// messages and an HNSW graph of 100k vectors takes longer than every measurement together.
// Each timed step runs --repeat times, peers interleaved, and the best is reported: on a shared
// machine the best run is the one least disturbed by other work.

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backup/sqlite_file.hpp"
#include "backup/table_copy.hpp"
#include "cli/bench_support.hpp"
#include "cli/commands.hpp"
#include "lunadb/backup.hpp"
#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/vector.hpp"
#include "schema/model.hpp"
#include "sql/driver.hpp"
#include "sql/value.hpp"
#include "vector/io.hpp"

extern char** environ;

namespace lunadb::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;
using sql::Timestamp;

// Bumped whenever the generated data change, so a cached folder of an older shape is rebuilt.
constexpr int kDatasetFormat = 1;
constexpr const char* kDatasetFile = "dataset.json";
constexpr const char* kDatabaseFile = "luna.db";
constexpr const char* kStoreFolder = "chroma";
constexpr const char* kRecordsFile = "lunadb-vectors.sqlite3";  // vector::detail::kRecordsFileName
constexpr std::size_t kVectorBatch = 1000;

struct Options {
  std::int64_t messages = 1'000'000;
  std::int64_t facts = 100'000;
  std::int64_t vectors = 100'000;
  int dim = 768;
  std::uint64_t seed = 20261207;
  std::string data_dir;
  std::string pg_url = "postgresql://postgres@127.0.0.1:5432/postgres";
  bool no_postgres = false;
  int repeat = 1;
  bool json = false;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

template <typename F>
double timed(F&& work) {
  const auto start = Clock::now();
  work();
  return seconds_since(start);
}

std::uint64_t bytes_under(const fs::path& path) {
  if (!fs::exists(path)) return 0;
  if (fs::is_regular_file(path)) return fs::file_size(path);
  std::uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

double megabytes(std::uint64_t bytes) { return static_cast<double>(bytes) / 1e6; }

// ---- external programs ----

std::string tail_of(const fs::path& file, std::size_t limit) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.size() > limit ? "..." + text.substr(text.size() - limit) : text;
}

// Runs a program found in PATH with stdout and stderr going to `log`, so that its chatter stays
// out of the table and its complaint can be quoted when it fails. `extra_env` (KEY=VALUE) carries
// a password to libpq's tools without putting it on a command line.
void run_program(const std::vector<std::string>& argv, const fs::path& log, const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error(ErrorKind::not_found, "bench backup: cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    throw Error(ErrorKind::io, "bench backup: `" + command + "` failed: " + tail_of(log, 600));
  }
}

bool program_exists(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', begin), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(begin, end - begin)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return true;
    begin = end + 1;
  }
  return false;
}

// `cp` as a user types it, but never a reflink: on a copy-on-write file system a clone would
// copy no data at all.
void cp(const fs::path& from, const fs::path& to, const fs::path& log) {
  run_program({"cp", "-r", "--reflink=never", from.string(), to.string()}, log);
}

// ---- the data ----

// Text from a vocabulary of made-up words drawn with a Zipf-like skew, with numbers, times and
// ids mixed in: it compresses roughly like chat text does, rather than like a repeated sentence.
class TextMaker {
 public:
  explicit TextMaker(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    static constexpr std::array<const char*, 20> onsets{"b", "c", "d", "f", "g", "h", "j", "k", "l", "m",
                                                        "n", "p", "r", "s", "t", "v", "w", "st", "br", "ch"};
    static constexpr std::array<const char*, 8> vowels{"a", "e", "i", "o", "u", "ai", "ou", "ee"};
    static constexpr std::array<const char*, 6> codas{"", "", "n", "r", "s", "th"};
    for (int i = 0; i < 8000; ++i) {
      std::string word;
      const int syllables = 1 + static_cast<int>(rng() % 4);
      for (int s = 0; s < syllables; ++s) {
        word += onsets[rng() % onsets.size()];
        word += vowels[rng() % vowels.size()];
        word += codas[rng() % codas.size()];
      }
      vocabulary_.push_back(std::move(word));
    }
    // Luna's users write in more than ASCII; a few such words keep the UTF-8 paths honest.
    for (const char* word : {"café", "naïve", "Müller", "über", "東京", "🌙", "señora", "Zürich"}) vocabulary_.emplace_back(word);
  }

  void append_words(std::mt19937_64& rng, std::size_t count, std::string& out) const {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::size_t in_sentence = 0;
    for (std::size_t w = 0; w < count; ++w) {
      if (!out.empty()) out += ' ';
      const double u = unit(rng);
      if (u < 0.03) {
        append_token(rng, out);
      } else {
        const auto index = static_cast<std::size_t>(static_cast<double>(vocabulary_.size()) * std::pow(unit(rng), 2.6));
        std::string word = vocabulary_[std::min(index, vocabulary_.size() - 1)];
        if (in_sentence == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 'a' + 'A');
        out += word;
      }
      ++in_sentence;
      if (in_sentence > 4 && unit(rng) < 0.12) {
        out += u < 0.5 ? "." : (u < 0.6 ? "?" : (u < 0.65 ? "!" : "."));
        in_sentence = 0;
      } else if (unit(rng) < 0.06) {
        out += ',';
      }
    }
    if (count > 0 && in_sentence > 0) out += '.';
  }

  std::string words(std::mt19937_64& rng, std::size_t count) const {
    std::string out;
    append_words(rng, count, out);
    return out;
  }

 private:
  static void append_token(std::mt19937_64& rng, std::string& out) {
    switch (rng() % 4) {
      case 0: out += fmt::format("{:02}:{:02}", rng() % 24, rng() % 60); break;
      case 1: out += fmt::format("{}.{}", rng() % 1000, rng() % 100); break;
      case 2: out += fmt::format("#{:08x}", rng() & 0xffffffffu); break;
      default: out += fmt::format("2026-{:02}-{:02}", 1 + rng() % 12, 1 + rng() % 28); break;
    }
  }

  std::vector<std::string> vocabulary_;
};

std::size_t lognormal_count(std::mt19937_64& rng, double median, double sigma, std::size_t low, std::size_t high) {
  std::lognormal_distribution<double> d(std::log(median), sigma);
  return std::clamp(static_cast<std::size_t>(d(rng)), low, high);
}

// One row of a schema table, columns in schema order, as backup's TableWriter takes them.
class RowOf {
 public:
  explicit RowOf(const schema::Table& table) : table_(table), row_(table.columns.size()) {}
  RowOf& set(std::string_view column, sql::Value value) {
    for (std::size_t c = 0; c < table_.columns.size(); ++c) {
      if (table_.columns[c].name == column) {
        row_[c] = std::move(value);
        return *this;
      }
    }
    throw Error(ErrorKind::internal, fmt::format("bench backup: {} has no column {}", table_.name, column));
  }
  std::vector<sql::Value> take() {
    std::vector<sql::Value> out(table_.columns.size());
    std::swap(out, row_);
    return out;
  }

 private:
  const schema::Table& table_;
  std::vector<sql::Value> row_;
};

const schema::Table& table_named(const char* name) {
  const auto* table = schema::luna_schema().find_table(name);
  if (!table) throw Error(ErrorKind::internal, std::string("bench backup: no table ") + name + " in the schema");
  return *table;
}

Settings sqlite_settings(const fs::path& database, const fs::path& store) {
  Settings settings = sqlite_file_settings(database);
  settings.chroma_path = store;
  settings.data_dir = database.parent_path();
  return settings;
}

struct Generated {
  std::int64_t conversations = 0;
  std::vector<std::string> fact_texts;
  std::vector<std::string> fact_categories;
};

// The relational part, at head (copy and backup both want a database at head), written in large
// transactions of multi-row INSERTs through backup's TableWriter.
Generated generate_database(const fs::path& file, const Options& options, const TextMaker& text) {
  const Settings settings = sqlite_settings(file, file.parent_path() / kStoreFolder);
  migrate::Migrator(settings).upgrade("head");
  auto connection = sql::open_connection(settings.db, sql::ConnectOptions{});
  connection->execute("PRAGMA synchronous = OFF");  // generating, not measuring: a crash just regenerates
  connection->execute("PRAGMA cache_size = -262144");  // the whole transaction stays in memory, not re-read from the WAL
  // A conversation's row is written after its messages (its counters and last activity come from
  // them) and a fact is superseded by a later one. Deferred keys would look for the children of
  // every new fact in facts.superseded_by, which has no index (quadratic); so no key is enforced
  // while generating, and the backup's own foreign_key_check proves them afterwards.
  connection->execute("PRAGMA foreign_keys = OFF");
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  using namespace std::chrono;
  // Two years of history ending on a fixed day, so that reruns make the same bytes.
  const Timestamp end = sys_days{year{2026} / 12 / 1};
  const Timestamp begin = end - days{730};
  const auto span_us = duration_cast<microseconds>(end - begin).count();

  Generated out;
  const std::int64_t average_length = 50;
  std::vector<std::int64_t> lengths;
  for (std::int64_t left = options.messages; left > 0;) {
    const auto n = std::min<std::int64_t>(left, 1 + static_cast<std::int64_t>(rng() % (2 * average_length - 1)));
    lengths.push_back(n);
    left -= n;
  }
  if (lengths.empty()) lengths.push_back(0);
  out.conversations = static_cast<std::int64_t>(lengths.size());

  const auto& conversations = table_named("conversations");
  const auto& messages = table_named("messages");
  const auto& episodes = table_named("episodes");
  const auto& facts = table_named("facts");
  const auto& relationships = table_named("fact_relationships");
  static constexpr std::array<const char*, 4> channels{"voice", "text", "text", "app"};

  sql::Transaction tx(*connection);
  {
    backup::detail::TableWriter conversation_rows(*connection, conversations, 1000);
    backup::detail::TableWriter message_rows(*connection, messages, 1000);
    backup::detail::TableWriter episode_rows(*connection, episodes, 1000);
    RowOf conversation(conversations), message(messages), episode(episodes);
    std::int64_t message_id = 0;
    for (std::int64_t c = 0; c < out.conversations; ++c) {
      const std::int64_t id = c + 1;
      Timestamp at = begin + microseconds(span_us * c / out.conversations + static_cast<std::int64_t>(rng() % 3'600'000'000ull));
      const Timestamp started = at;
      for (std::int64_t m = 0; m < lengths[static_cast<std::size_t>(c)]; ++m) {
        const bool user = m % 2 == 0;
        const double roll = unit(rng);
        const char* role = roll < 0.01 ? "system" : (roll < 0.02 ? "tool" : (user ? "user" : "assistant"));
        const std::size_t words = user ? lognormal_count(rng, 14, 0.9, 1, 400) : lognormal_count(rng, 55, 0.8, 3, 1500);
        at += microseconds(static_cast<std::int64_t>(lognormal_count(rng, 40'000'000, 1.2, 1'000'000, 3'000'000'000)));
        message.set("id", ++message_id).set("conversation_id", id).set("role", std::string(role)).set("content", text.words(rng, words));
        message.set("created_at", at);
        if (user) message.set("sentiment_score", std::round((unit(rng) * 2 - 1) * 1000) / 1000);
        message_rows.add(message.take());
      }
      conversation.set("id", id).set("title", text.words(rng, 2 + rng() % 6)).set("started_at", started).set("updated_at", at);
      conversation.set("message_count", lengths[static_cast<std::size_t>(c)]);
      if (c + 1 < out.conversations) conversation.set("ended_at", at + minutes(5));
      const bool summarised = unit(rng) < 0.7;
      if (summarised) conversation.set("summary", text.words(rng, 20 + rng() % 40));
      if (unit(rng) < 0.5) conversation.set("metadata", fmt::format(R"({{"channel": "{}", "device": "d{}"}})", channels[rng() % 4], rng() % 16));
      conversation_rows.add(conversation.take());
      if (summarised) {
        // Episodes refer to facts by id in JSON text, as Luna's do.
        std::string key_facts = "[";
        for (int k = 0, n = static_cast<int>(rng() % 5); k < n && options.facts > 0; ++k) {
          key_facts += (k ? ", " : "") + std::to_string(1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(options.facts)));
        }
        episode.set("conversation_id", id).set("summary", text.words(rng, 15 + rng() % 30)).set("key_fact_ids", key_facts + "]");
        episode.set("key_entities", fmt::format(R"(["{}", "{}"])", text.words(rng, 1), text.words(rng, 1)));
        episode.set("importance", std::round(unit(rng) * 100) / 100).set("created_at", at).set("updated_at", at);
        episode.set("id", id);
        episode_rows.add(episode.take());
      }
    }
    conversation_rows.flush();
    message_rows.flush();
    episode_rows.flush();
  }
  {
    static constexpr std::array<const char*, 10> categories{"preference", "personal", "work", "health", "relationship",
                                                            "schedule", "hobby", "location", "food", "goal"};
    static constexpr std::array<const char*, 5> sources{"explicit", "inferred", "observed", "compaction", "pattern_mining"};
    static constexpr std::array<const char*, 3> memory_types{"short", "long", "persistent"};
    static constexpr std::array<const char*, 4> relations{"contradicts", "confirms", "updates", "related"};
    backup::detail::TableWriter fact_rows(*connection, facts, 1000);
    backup::detail::TableWriter relationship_rows(*connection, relationships, 1000);
    RowOf fact(facts), relationship(relationships);
    for (std::int64_t f = 0; f < options.facts; ++f) {
      const std::int64_t id = f + 1;
      const Timestamp created = begin + microseconds(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span_us)));
      const char* category = categories[rng() % categories.size()];
      std::string content = text.words(rng, lognormal_count(rng, 16, 0.6, 4, 120));
      fact.set("id", id).set("category", std::string(category)).set("content", content);
      fact.set("confidence", std::round((0.5 + unit(rng) / 2) * 1000) / 1000).set("importance", std::round(unit(rng) * 1000) / 1000);
      if (unit(rng) < 0.8) fact.set("source_conversation_id", 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(out.conversations)));
      fact.set("created_at", created).set("updated_at", created + seconds(rng() % 8'000'000));
      const bool active = unit(rng) < 0.9;
      fact.set("is_active", active).set("is_private", unit(rng) < 0.05).set("source", std::string(sources[rng() % sources.size()]));
      fact.set("memory_type", std::string(memory_types[rng() % memory_types.size()]));
      if (!active && id < options.facts) fact.set("superseded_by", id + 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(options.facts - id)));
      if (unit(rng) < 0.1) fact.set("expires_at", created + days{30});
      if (unit(rng) < 0.5) fact.set("last_accessed", created + seconds(rng() % 20'000'000));
      fact_rows.add(fact.take());
      out.fact_texts.push_back(std::move(content));
      out.fact_categories.emplace_back(category);
    }
    fact_rows.flush();
    for (std::int64_t r = 0; options.facts > 1 && r < options.facts / 5; ++r) {
      const auto a = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(options.facts));
      const auto b = 1 + (a % options.facts);  // never the fact itself
      const Timestamp created = begin + microseconds(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span_us)));
      relationship.set("id", r + 1).set("fact_id_a", a).set("fact_id_b", b).set("relationship", std::string(relations[rng() % relations.size()]));
      relationship.set("confidence", std::round(unit(rng) * 100) / 100).set("created_at", created).set("updated_at", created);
      if (unit(rng) < 0.3) relationship.set("note", text.words(rng, 5 + rng() % 15));
      relationship_rows.add(relationship.take());
    }
    relationship_rows.flush();
  }
  tx.commit();
  // A live Luna database is in WAL mode; folded back here, the file alone is the whole database,
  // so `cp` of it copies everything too.
  connection->execute("PRAGMA wal_checkpoint(TRUNCATE)");
  return out;
}

void normalise(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= scale;
}

// Random unit vectors stand in for embeddings: to a file copy they are as incompressible as real
// ones, and the store must still build its HNSW graph over them.
void generate_vectors(const fs::path& store_dir, const Options& options, const Generated& generated, const TextMaker& text) {
  auto store = vector::VectorStore::open(store_dir);
  vector::CollectionConfig config;
  config.name = "luna_facts";
  config.dimension = options.dim;
  config.embedding_model = "nomic-embed-text";
  auto collection = store->create_collection(config);
  std::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ull);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<vector::Record> batch;
  for (std::int64_t i = 0; i < options.vectors; ++i) {
    vector::Record record;
    const auto fact = static_cast<std::size_t>(i);
    record.id = "fact-" + std::to_string(i + 1);
    record.embedding.resize(static_cast<std::size_t>(options.dim));
    for (float& x : record.embedding) x = normal(rng);
    normalise(record.embedding);
    const bool has_fact = fact < generated.fact_texts.size();
    record.document = has_fact ? generated.fact_texts[fact] : text.words(rng, lognormal_count(rng, 16, 0.6, 4, 120));
    record.metadata = {{"category", has_fact ? generated.fact_categories[fact] : std::string("note")}, {"fact_id", i + 1}};
    batch.push_back(std::move(record));
    if (batch.size() == kVectorBatch || i + 1 == options.vectors) {
      collection->add(batch);
      batch.clear();
    }
  }
  store->flush();
}

Json dataset_description(const Options& options) {
  return {{"format", kDatasetFormat}, {"messages", options.messages}, {"facts", options.facts},
          {"vectors", options.vectors}, {"dim", options.dim},           {"seed", options.seed}};
}

// Reuses the data in `dir` when dataset.json says they are what `options` asks for; otherwise
// (re)makes them. dataset.json is written last, so a killed generation is redone.
bool prepare_dataset(const fs::path& dir, const Options& options, std::ostream& log) {
  const Json wanted = dataset_description(options);
  const fs::path description = dir / kDatasetFile;
  if (fs::exists(description) && fs::exists(dir / kDatabaseFile) && fs::exists(dir / kStoreFolder / kRecordsFile)) {
    try {
      std::ifstream in(description);
      if (Json::parse(in) == wanted) return false;
    } catch (const Json::exception&) {
      // An unreadable description means unknown data: make them again.
    }
  }
  fs::create_directories(dir);
  fs::remove(description);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(dir / (std::string(kDatabaseFile) + suffix));
  fs::remove_all(dir / kStoreFolder);
  const TextMaker text(options.seed);
  Generated generated;
  const double db_seconds = timed([&] { generated = generate_database(dir / kDatabaseFile, options, text); });
  log << fmt::format("generated {} messages in {} conversations and {} facts in {:.1f} s\n", options.messages,
                     generated.conversations, options.facts, db_seconds);
  const double vector_seconds = timed([&] { generate_vectors(dir / kStoreFolder, options, generated, text); });
  log << fmt::format("generated {} vectors of d={} in {:.1f} s\n", options.vectors, options.dim, vector_seconds);
  std::ofstream(description) << wanted.dump(2) << '\n';
  return true;
}

// ---- measurements ----

// Progress lines of a lunadb call, each with the seconds since the call began.
using Timeline = std::vector<std::pair<double, std::string>>;

struct Measure {
  std::string name;
  std::vector<double> runs;  // seconds
  std::string unavailable;   // "n/a: ..." when the step cannot run here
  double best() const { return runs.empty() ? 0 : *std::min_element(runs.begin(), runs.end()); }
  bool ok() const { return unavailable.empty() && !runs.empty(); }
};

// Times `work(progress)` into `m`, stamping each progress line it reports: the lines show where
// the call spends its time (per table, say). The timeline of the fastest run is kept in `best`,
// closed by `last`, which names what happens after the last line.
template <typename F>
void timed_with_progress(Measure& m, Timeline& best, const std::string& last, F&& work) {
  Timeline timeline;
  const auto started = Clock::now();
  const std::function<void(const std::string&)> progress = [&](const std::string& line) {
    timeline.emplace_back(seconds_since(started), line);
  };
  m.runs.push_back(timed([&] { work(progress); }));
  timeline.emplace_back(m.runs.back(), last);
  if (m.runs.back() <= m.best()) best = std::move(timeline);
}

// A folder for one run's output, removed afterwards whatever happens.
class Scratch {
 public:
  explicit Scratch(fs::path path) : path_(std::move(path)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Streams a file through SHA-256, as the backup does for every file of a set.
void sha256_file(const fs::path& file) {
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::io, file.string() + ": cannot read: " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<unsigned char> buffer(1 << 20);
  ssize_t got = 0;
  while ((got = read(fd, buffer.data(), buffer.size())) > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(got));
  close(fd);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
}

std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  if (fs::is_regular_file(root)) return {root};
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) out.push_back(entry.path());
  }
  return out;
}

struct Sizes {
  std::uint64_t database = 0, records = 0, index = 0;
  std::uint64_t store() const { return records + index; }
  std::uint64_t all() const { return database + store(); }
};

// One scope of the SQLite backup: what lunadb copies, and what the peers copy to match it.
struct Scope {
  std::string name;
  bool database = false;
  bool vectors = false;
  std::uint64_t bytes = 0;
  Measure lunadb{"lunadb backup", {}, {}}, sqlite3{"sqlite3 .backup", {}, {}}, cp{"cp", {}, {}};
};

class Bench {
 public:
  Bench(const Options& options, fs::path data, fs::path work) : options_(options), data_(std::move(data)), work_(std::move(work)) {}

  void run(std::ostream& log) {
    sizes_.database = bytes_under(data_ / kDatabaseFile);
    sizes_.records = bytes_under(store() / kRecordsFile);
    sizes_.index = bytes_under(store() / "index");
    warm_page_cache();
    scopes_.clear();
    scopes_.push_back(scope("database", true, false, sizes_.database));
    scopes_.push_back(scope("vector store", false, true, sizes_.store()));
    scopes_.push_back(scope("database + vector store", true, true, sizes_.all()));
    const bool have_sqlite3 = program_exists("sqlite3");
    for (int r = 0; r < options_.repeat; ++r) {
      log << fmt::format("run {} of {}: SQLite backups\n", r + 1, options_.repeat);
      for (auto& scope : scopes_) {
        scope.lunadb.runs.push_back(lunadb_backup(scope));
        if (have_sqlite3) scope.sqlite3.runs.push_back(sqlite3_backup(scope));
        scope.cp.runs.push_back(cp_files(scope));
      }
      log << fmt::format("run {} of {}: breakdown, restore\n", r + 1, options_.repeat);
      breakdown();
      restore();
    }
    if (!have_sqlite3) {
      for (auto& scope : scopes_) scope.sqlite3.unavailable = "n/a: sqlite3 is not installed (Debian package sqlite3)";
    }
    if (!options_.no_postgres) postgres(log);
  }

  Json to_json() const;
  void print(std::ostream& out) const;

 private:
  fs::path store() const { return data_ / kStoreFolder; }

  static Scope scope(std::string name, bool database, bool vectors, std::uint64_t bytes) {
    Scope s;
    s.name = std::move(name);
    s.database = database;
    s.vectors = vectors;
    s.bytes = bytes;
    return s;
  }

  void warm_page_cache() const {
    // Every contender then reads from the same warm cache; the first one would otherwise pay
    // for the disk alone.
    for (const auto& file : files_under(data_)) {
      if (file.filename() != kDatasetFile) sha256_file(file);
    }
  }

  Settings scope_settings(const Scope& scope, const fs::path& absent) const {
    return sqlite_settings(scope.database ? data_ / kDatabaseFile : absent / kDatabaseFile,
                           scope.vectors ? store() : absent / kStoreFolder);
  }

  double lunadb_backup(const Scope& scope) {
    Scratch out(work_ / "lunadb-backup");
    backup::BackupOptions o;
    o.directory = out / "sets";
    const Settings settings = scope_settings(scope, out / "absent");
    backup::BackupResult result;
    const double seconds = timed([&] { result = backup::create_backup(settings, o); });
    if (scope.database && scope.vectors) keep_set(result.set);
    return seconds;
  }

  // The whole-store set is kept for the restore measurements.
  void keep_set(const fs::path& set) {
    const fs::path kept = work_ / "restore-source";
    fs::remove_all(kept);
    fs::rename(set, kept);
    set_ = kept;
  }

  double sqlite3_backup(const Scope& scope) const {
    Scratch out(work_ / "sqlite3-backup");
    const fs::path log = work_ / "sqlite3.log";
    return timed([&] {
      if (scope.database) run_program({"sqlite3", (data_ / kDatabaseFile).string(), ".backup '" + (out / kDatabaseFile).string() + "'"}, log);
      if (scope.vectors) {
        // sqlite3 copies the records database; the index snapshots are plain files, so they are
        // copied as such, as lunadb does.
        fs::create_directories(out / "vectors");
        run_program({"sqlite3", (store() / kRecordsFile).string(), ".backup '" + (out / "vectors" / kRecordsFile).string() + "'"}, log);
        if (fs::exists(store() / "index")) cp(store() / "index", out / "vectors" / "index", log);
      }
    });
  }

  double cp_files(const Scope& scope) const {
    Scratch out(work_ / "cp-backup");
    const fs::path log = work_ / "cp.log";
    return timed([&] {
      if (scope.database) cp(data_ / kDatabaseFile, out / kDatabaseFile, log);
      if (scope.vectors) cp(store(), out / "vectors", log);
    });
  }

  // What lunadb's backup of the whole store spends its time on, step by step, on the same
  // files: each SQLite file is copied as the backup copies it, then checked and hashed the way
  // the backup checks and hashes it.
  void breakdown() {
    Scratch out(work_ / "breakdown");
    auto add = [&](const std::string& step, double seconds) {
      auto it = std::find_if(steps_.begin(), steps_.end(), [&](const Measure& m) { return m.name == step; });
      if (it == steps_.end()) {
        steps_.push_back({step, {}, {}});
        it = steps_.end() - 1;
      }
      if (it->runs.size() < static_cast<std::size_t>(round_ + 1)) it->runs.push_back(0);
      it->runs.back() += seconds;
    };
    fs::create_directories(out / "vectors");
    const std::vector<std::pair<fs::path, fs::path>> files{{store() / kRecordsFile, out / "vectors" / kRecordsFile},
                                                           {data_ / kDatabaseFile, out / kDatabaseFile}};
    if (fs::exists(store() / "index")) {
      add("copy index snapshots (read, write, fsync)", timed([&] {
            for (const auto& file : files_under(store() / "index")) {
              const fs::path to = out / "vectors" / "index" / fs::relative(file, store() / "index");
              fs::create_directories(to.parent_path());
              fs::copy_file(file, to);
              vector::detail::fsync_file(to);
            }
          }));
    }
    for (const auto& [from, to] : files) {
      add("online copy (backup API, one step) + fsync", timed([&] { backup::detail::SqliteFile(from, true).copy_to(to); }));
      // The fsync alone, on a fresh unsynced copy of the same bytes.
      const fs::path plain = to.string() + ".cp";
      fs::copy_file(to, plain);
      add("  of which fsync of the copy", timed([&] { vector::detail::fsync_file(plain); }));
      fs::remove(plain);
      backup::detail::SqliteFile copy(to, true);
      add("PRAGMA integrity_check", timed([&] { (void)copy.scalar("PRAGMA integrity_check"); }));
      add("PRAGMA foreign_key_check", timed([&] { (void)copy.scalar("PRAGMA foreign_key_check"); }));
      add("count rows / records", timed([&] { (void)copy.count_rows(); }));
      add("(not done: PRAGMA quick_check)", timed([&] { (void)copy.scalar("PRAGMA quick_check"); }));
    }
    add("SHA-256 of every file", timed([&] {
          for (const auto& file : files_under(out.path())) sha256_file(file);
        }));
    ++round_;
  }

  void restore() {
    if (set_.empty()) return;
    {
      Scratch target(work_ / "lunadb-restore");
      backup::RestoreOptions o;
      const Settings settings = sqlite_settings(target / kDatabaseFile, target / kStoreFolder);
      restore_lunadb_.runs.push_back(timed([&] {
        const auto result = backup::restore_backup(settings, set_, o);
        if (!result.differences.empty()) throw Error(ErrorKind::internal, "bench backup: restore differs: " + result.differences.front());
      }));
    }
    restore_verify_.runs.push_back(timed([&] { (void)backup::verify_backup(set_); }));
    {
      Scratch target(work_ / "cp-restore");
      const fs::path log = work_ / "cp.log";
      restore_cp_.runs.push_back(timed([&] {
        cp(set_ / kDatabaseFile, target / kDatabaseFile, log);
        cp(set_ / "vectors", target / kStoreFolder, log);
      }));
    }
  }

  // ---- PostgreSQL ----

  // The given URL with its database replaced, keeping its driver, credentials and query.
  std::string url_with_database(const std::string& name) const {
    std::string base = options_.pg_url, query;
    if (const auto q = base.find('?'); q != std::string::npos) {
      query = base.substr(q);
      base.resize(q);
    }
    const auto scheme = base.find("://");
    const auto slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash != std::string::npos) base.resize(slash);
    return base + "/" + name + query;
  }

  std::unique_ptr<sql::Connection> admin() const {
    sql::ConnectOptions o;
    o.connect_timeout_s = 5;
    return sql::open_connection(parse_db_url(options_.pg_url, "bench backup --pg-url"), o);
  }

  // libpq's tools get host, port, user and database as options and the password in the
  // environment, never on their command line.
  std::vector<std::string> libpq_arguments(const std::string& database) const {
    const DbUrl url = parse_db_url(options_.pg_url, "bench backup --pg-url");
    std::vector<std::string> out{"-h", url.host.empty() ? "127.0.0.1" : url.host, "-p", std::to_string(url.port.value_or(5432))};
    if (!url.user.empty()) out.insert(out.end(), {"-U", url.user});
    out.insert(out.end(), {"-d", database});
    return out;
  }
  std::vector<std::string> libpq_env() const {
    const DbUrl url = parse_db_url(options_.pg_url, "bench backup --pg-url");
    if (url.password.empty()) return {};
    return {"PGPASSWORD=" + url.password};
  }

  // A scratch database, dropped (its connections ended) when the guard goes.
  class ScratchDatabase {
   public:
    ScratchDatabase(const Bench& bench, std::string name) : bench_(bench), name_(std::move(name)) {
      auto c = bench_.admin();
      c->execute("SET client_min_messages = warning");  // no NOTICE that a left-over did not exist
      c->execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
      c->execute("CREATE DATABASE \"" + name_ + "\"");
    }
    ~ScratchDatabase() {
      try {
        auto c = bench_.admin();
        c->execute("SET client_min_messages = warning");
        c->execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
      } catch (...) {
        // Nothing to do about it here; the name says what it was.
      }
    }
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;
    const std::string& name() const { return name_; }
    std::string url() const { return bench_.url_with_database(name_); }

   private:
    const Bench& bench_;
    std::string name_;
  };

  Settings server_settings(const std::string& url, const fs::path& absent_store) const {
    Settings settings;
    settings.db_url = url;
    settings.db = parse_db_url(url, "bench backup --pg-url");
    settings.chroma_path = absent_store;
    settings.data_dir = absent_store.parent_path();
    return settings;
  }

  void postgres(std::ostream& log) {
    try {
      server_version_ = admin()->server_version();
    } catch (const Error& e) {
      pg_unavailable_ = std::string("n/a: PostgreSQL at ") + parse_db_url(options_.pg_url).redacted() + " unreachable: " + e.what();
      return;
    }
    const std::string prefix = "lunadb_bench_backup_" + std::to_string(getpid());
    const bool have_pg_tools = program_exists("pg_dump") && program_exists("pg_restore");
    for (int r = 0; r < options_.repeat; ++r) {
      log << fmt::format("run {} of {}: PostgreSQL\n", r + 1, options_.repeat);
      ScratchDatabase target(*this, prefix + "_copy");
      backup::CopyOptions o;
      o.target_url = target.url();
      backup::CopyResult result;
      timed_with_progress(copy_, copy_timeline_, "done (identities advanced, target read back and compared)", [&](const auto& progress) {
        o.progress = progress;
        result = backup::copy_database(sqlite_settings(data_ / kDatabaseFile, work_ / "absent"), o);
      });
      if (!result.differences.empty()) throw Error(ErrorKind::internal, "bench backup: copy differs: " + result.differences.front());
      copy_rows_ = 0;
      for (const auto& t : result.tables) copy_rows_ += t.rows;
      {
        auto c = sql::open_connection(parse_db_url(target.url()), sql::ConnectOptions{});
        auto st = c->prepare("SELECT pg_database_size(current_database())");
        pg_bytes_ = st->step() ? static_cast<std::uint64_t>(st->get_int64(0)) : 0;
      }
      Scratch out(work_ / "pg");
      const fs::path log_file = work_ / "pg.log";
      if (have_pg_tools) {
        const fs::path dump = out / "luna.dump";
        auto dump_args = std::vector<std::string>{"pg_dump", "-Fc", "-f", dump.string()};
        for (auto& a : libpq_arguments(target.name())) dump_args.push_back(a);
        pg_dump_.runs.push_back(timed([&] { run_program(dump_args, log_file, libpq_env()); }));
        pg_dump_bytes_ = fs::file_size(dump);
        ScratchDatabase restored(*this, prefix + "_pg_restore");
        auto restore_args = std::vector<std::string>{"pg_restore", "--no-owner", "--exit-on-error"};
        for (auto& a : libpq_arguments(restored.name())) restore_args.push_back(a);
        restore_args.push_back(dump.string());
        pg_restore_.runs.push_back(timed([&] { run_program(restore_args, log_file, libpq_env()); }));
      }
      server_backup(target, out, prefix);
    }
    if (!have_pg_tools) pg_dump_.unavailable = pg_restore_.unavailable = "n/a: pg_dump / pg_restore are not installed (postgresql-client)";
  }

  // lunadb's own backup of the server database (the logical dump) and its restore into a fresh
  // database; while create_backup refuses a server DB_URL the rows say why.
  void server_backup(const ScratchDatabase& source, const Scratch& out, const std::string& prefix) {
    backup::BackupOptions o;
    o.directory = out / "sets";
    backup::BackupResult result;
    try {
      timed_with_progress(lunadb_pg_backup_, lunadb_pg_backup_timeline_, "done (set verified, fsynced, renamed)", [&](const auto& progress) {
        o.progress = progress;
        result = backup::create_backup(server_settings(source.url(), out / "absent" / kStoreFolder), o);
      });
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::unsupported) throw;
      lunadb_pg_backup_.unavailable = lunadb_pg_restore_.unavailable = std::string("n/a: ") + e.what();
      lunadb_pg_backup_.runs.clear();
      return;
    }
    lunadb_pg_set_bytes_ = result.bytes ? result.bytes : bytes_under(result.set);
    ScratchDatabase restored(*this, prefix + "_lunadb_restore");
    backup::RestoreOptions restore_options;
    timed_with_progress(lunadb_pg_restore_, lunadb_pg_restore_timeline_, "done (committed, counts compared)", [&](const auto& progress) {
      restore_options.progress = progress;
      const auto r = backup::restore_backup(server_settings(restored.url(), out / "absent" / kStoreFolder), result.set, restore_options);
      if (!r.differences.empty()) throw Error(ErrorKind::internal, "bench backup: PostgreSQL restore differs: " + r.differences.front());
    });
  }

  const Options& options_;
  fs::path data_, work_;
  Sizes sizes_;
  std::vector<Scope> scopes_;
  std::vector<Measure> steps_;
  int round_ = 0;
  fs::path set_;
  Measure restore_lunadb_{"lunadb restore", {}, {}}, restore_verify_{"  of which verify (as `backup verify`)", {}, {}},
      restore_cp_{"cp back", {}, {}};
  std::string server_version_, pg_unavailable_;
  Measure copy_{"lunadb copy SQLite -> PostgreSQL", {}, {}};
  Timeline copy_timeline_, lunadb_pg_backup_timeline_, lunadb_pg_restore_timeline_;  // of the fastest runs
  std::uint64_t copy_rows_ = 0, pg_bytes_ = 0, pg_dump_bytes_ = 0, lunadb_pg_set_bytes_ = 0;
  Measure pg_dump_{"pg_dump -Fc", {}, {}}, pg_restore_{"pg_restore", {}, {}};
  Measure lunadb_pg_backup_{"lunadb backup (DB_URL=postgresql)", {}, {}}, lunadb_pg_restore_{"lunadb restore (DB_URL=postgresql)", {}, {}};

};

Json measure_json(const Measure& m, std::uint64_t bytes) {
  Json j{{"name", m.name}};
  if (!m.ok()) {
    j["unavailable"] = m.unavailable.empty() ? "not run" : m.unavailable;
    return j;
  }
  j["seconds"] = m.best();
  j["runs"] = m.runs;
  if (bytes) j["mb_per_s"] = megabytes(bytes) / m.best();
  return j;
}

Json timeline_json(const Timeline& timeline) {
  Json out = Json::array();
  for (const auto& [at, line] : timeline) out.push_back({{"seconds", at}, {"step", line}});
  return out;
}

// Lines that took no measurable time (empty tables) are left out.
void print_timeline(std::ostream& out, const Timeline& timeline) {
  double previous = 0;
  for (const auto& [at, line] : timeline) {
    if (at - previous >= 0.005) out << fmt::format("    {:>7.2f} s  +{:>6.2f} s  {}\n", at, at - previous, line);
    previous = at;
  }
}

double ratio(const Measure& ours, const Measure& theirs) { return ours.ok() && theirs.ok() && theirs.best() > 0 ? ours.best() / theirs.best() : 0; }

constexpr double kBackupTarget = 1.5;       // lunadb backup / sqlite3 .backup
constexpr double kCopyTarget = 50'000;      // rows/s into PostgreSQL

Json Bench::to_json() const {
  Json j{{"messages", options_.messages}, {"facts", options_.facts}, {"vectors", options_.vectors}, {"dim", options_.dim},
         {"repeat", options_.repeat}, {"sqlite_version", sqlite3_libversion()},
         {"bytes", {{"database", sizes_.database}, {"vector_records", sizes_.records}, {"index", sizes_.index}}}};
  Json scopes = Json::array();
  for (const auto& s : scopes_) {
    scopes.push_back({{"scope", s.name}, {"bytes", s.bytes}, {"lunadb", measure_json(s.lunadb, s.bytes)},
                      {"sqlite3", measure_json(s.sqlite3, s.bytes)}, {"cp", measure_json(s.cp, s.bytes)},
                      {"lunadb_vs_sqlite3", ratio(s.lunadb, s.sqlite3)}, {"lunadb_vs_cp", ratio(s.lunadb, s.cp)}});
  }
  j["backup"] = scopes;
  Json steps = Json::array();
  for (const auto& m : steps_) steps.push_back(measure_json(m, 0));
  j["backup_breakdown"] = steps;
  j["restore"] = {{"lunadb", measure_json(restore_lunadb_, sizes_.all())}, {"verify", measure_json(restore_verify_, sizes_.all())},
                  {"cp", measure_json(restore_cp_, sizes_.all())}, {"lunadb_vs_cp", ratio(restore_lunadb_, restore_cp_)}};
  if (!options_.no_postgres) {
    Json pg{{"server_version", server_version_}};
    if (!pg_unavailable_.empty()) pg["unavailable"] = pg_unavailable_;
    pg["copy"] = measure_json(copy_, 0);
    pg["copy_rows"] = copy_rows_;
    pg["copy_rows_per_s"] = copy_.ok() ? static_cast<double>(copy_rows_) / copy_.best() : 0;
    pg["copy_timeline"] = timeline_json(copy_timeline_);
    pg["lunadb_backup_timeline"] = timeline_json(lunadb_pg_backup_timeline_);
    pg["lunadb_restore_timeline"] = timeline_json(lunadb_pg_restore_timeline_);
    pg["database_bytes"] = pg_bytes_;
    pg["pg_dump"] = measure_json(pg_dump_, pg_bytes_);
    pg["pg_dump_file_bytes"] = pg_dump_bytes_;
    pg["pg_restore"] = measure_json(pg_restore_, pg_bytes_);
    pg["lunadb_backup"] = measure_json(lunadb_pg_backup_, pg_bytes_);
    pg["lunadb_set_bytes"] = lunadb_pg_set_bytes_;
    pg["lunadb_restore"] = measure_json(lunadb_pg_restore_, pg_bytes_);
    pg["lunadb_backup_vs_pg_dump"] = ratio(lunadb_pg_backup_, pg_dump_);
    pg["lunadb_restore_vs_pg_restore"] = ratio(lunadb_pg_restore_, pg_restore_);
    j["postgresql"] = pg;
  }
  const double whole = scopes_.empty() ? 0 : ratio(scopes_.back().lunadb, scopes_.back().sqlite3);
  Json targets = Json::array();
  targets.push_back({{"target", "SQLite backup within 1.5x of sqlite3 .backup (database + vector store)"}, {"value", whole},
                     {"met", whole > 0 && whole <= kBackupTarget}});
  if (!options_.no_postgres && copy_.ok()) {
    const double rate = static_cast<double>(copy_rows_) / copy_.best();
    targets.push_back({{"target", "copy into PostgreSQL >= 50000 rows/s"}, {"value", rate}, {"met", rate >= kCopyTarget}});
  }
  j["targets"] = targets;
  return j;
}

std::string seconds_cell(const Measure& m) { return m.ok() ? fmt::format("{:.2f}", m.best()) : "n/a"; }
std::string runs_cell(const Measure& m) {
  if (m.runs.size() < 2) return "";
  std::string out;
  for (double s : m.runs) out += (out.empty() ? "" : " ") + fmt::format("{:.2f}", s);
  return "(" + out + ")";
}
std::string rate_cell(const Measure& m, std::uint64_t bytes) { return m.ok() && bytes ? fmt::format("{:.0f}", megabytes(bytes) / m.best()) : ""; }
std::string ratio_cell(double r) { return r > 0 ? fmt::format("{:.2f}x", r) : ""; }

void Bench::print(std::ostream& out) const {
  out << fmt::format("lunadb bench backup: {} messages, {} facts, {} vectors of d={}; SQLite {}{}; best of {}\n", options_.messages,
                     options_.facts, options_.vectors, options_.dim, sqlite3_libversion(),
                     server_version_.empty() ? "" : ", PostgreSQL " + server_version_, options_.repeat);
  out << fmt::format("data: luna.db {:.1f} MB, vector records {:.1f} MB, index snapshots {:.1f} MB ({})\n", megabytes(sizes_.database),
                     megabytes(sizes_.records), megabytes(sizes_.index), data_.string());
  const std::string header = fmt::format("  {:<44} {:>9} {:>8} {:>14}  {}\n", "", "seconds", "MB/s", "lunadb / this", "runs");
  auto row = [&](const Measure& m, std::uint64_t bytes, double r) {
    if (!m.ok()) {
      out << fmt::format("  {:<44} {}\n", m.name, m.unavailable.empty() ? "n/a" : m.unavailable);
      return;
    }
    out << fmt::format("  {:<44} {:>9} {:>8} {:>14}  {}\n", m.name, seconds_cell(m), rate_cell(m, bytes), ratio_cell(r), runs_cell(m));
  };
  for (const auto& s : scopes_) {
    out << fmt::format("\nbackup, {} ({:.1f} MB)\n", s.name, megabytes(s.bytes)) << header;
    row(s.lunadb, s.bytes, 0);
    row(s.sqlite3, s.bytes, ratio(s.lunadb, s.sqlite3));
    row(s.cp, s.bytes, ratio(s.lunadb, s.cp));
  }
  if (!steps_.empty()) {
    out << "\nlunadb backup of database + vector store, step by step (same files, timed apart)\n";
    out << fmt::format("  {:<44} {:>9} {:>8}\n", "", "seconds", "share");
    double total = 0;
    for (const auto& m : steps_) {
      if (m.name.rfind("  ", 0) != 0 && m.name.rfind("(", 0) != 0) total += m.best();
    }
    for (const auto& m : steps_) {
      out << fmt::format("  {:<44} {:>9} {:>8}\n", m.name, seconds_cell(m), total > 0 ? fmt::format("{:.0f}%", 100 * m.best() / total) : "");
    }
    out << fmt::format("  {:<44} {:>9.2f}\n", "sum of the steps", total);
    if (!scopes_.empty() && scopes_.back().lunadb.ok()) {
      out << fmt::format("  {:<44} {:>9.2f}\n", "create_backup, measured whole", scopes_.back().lunadb.best());
    }
  }
  out << fmt::format("\nrestore of the database + vector store set ({:.1f} MB)\n", megabytes(sizes_.all())) << header;
  row(restore_lunadb_, sizes_.all(), 0);
  row(restore_verify_, sizes_.all(), 0);
  row(restore_cp_, sizes_.all(), ratio(restore_lunadb_, restore_cp_));
  if (!options_.no_postgres) {
    out << "\nPostgreSQL" << (server_version_.empty() ? "" : " " + server_version_) << "\n";
    if (!pg_unavailable_.empty()) {
      out << "  " << pg_unavailable_ << '\n';
    } else {
      const double rate = copy_.ok() ? static_cast<double>(copy_rows_) / copy_.best() : 0;
      out << fmt::format("  {:<44} {:>9} s {:>10.0f} rows/s ({} rows)  {}\n", copy_.name, seconds_cell(copy_), rate, copy_rows_, runs_cell(copy_));
      print_timeline(out, copy_timeline_);
      out << fmt::format("  database size (pg_database_size) {:.1f} MB; pg_dump -Fc file {:.1f} MB; lunadb set {}\n", megabytes(pg_bytes_),
                         megabytes(pg_dump_bytes_), lunadb_pg_set_bytes_ ? fmt::format("{:.1f} MB", megabytes(lunadb_pg_set_bytes_)) : "n/a");
      out << header;
      row(pg_dump_, pg_bytes_, 0);
      row(lunadb_pg_backup_, pg_bytes_, 0);
      if (lunadb_pg_backup_.ok() && pg_dump_.ok()) out << fmt::format("  {:<44} {:>9} {:>8} {:>14}\n", "  lunadb backup / pg_dump", "", "", ratio_cell(ratio(lunadb_pg_backup_, pg_dump_)));
      print_timeline(out, lunadb_pg_backup_timeline_);
      row(pg_restore_, pg_bytes_, 0);
      row(lunadb_pg_restore_, pg_bytes_, 0);
      if (lunadb_pg_restore_.ok() && pg_restore_.ok()) out << fmt::format("  {:<44} {:>9} {:>8} {:>14}\n", "  lunadb restore / pg_restore", "", "", ratio_cell(ratio(lunadb_pg_restore_, pg_restore_)));
      print_timeline(out, lunadb_pg_restore_timeline_);
    }
  }
  out << "\ntargets\n";
  const Json results = to_json();
  for (const auto& t : results["targets"]) {
    const double value = t["value"].get<double>();
    out << fmt::format("  {:<72} {:>10} {}\n", t["target"].get<std::string>(),
                       value >= 100 ? fmt::format("{:.0f}", value) : fmt::format("{:.2f}x", value), t["met"].get<bool>() ? "PASS" : "FAIL");
  }
}

// The data folder (kept) and the scratch folder for the copies (removed at the end).
void run_bench(const Options& options) {
  if (options.messages < 0 || options.facts < 0 || options.vectors < 0) throw Error(ErrorKind::usage, "bench backup: counts must not be negative");
  if (options.dim < 1) throw Error(ErrorKind::usage, "bench backup --dim must be at least 1");
  std::unique_ptr<Scratch> temporary;
  fs::path data;
  if (options.data_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "lunadb-bench-backup-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error(ErrorKind::io, "bench backup: cannot create a temporary folder");
    temporary = std::make_unique<Scratch>(pattern);
    data = temporary->path();
  } else {
    data = fs::absolute(options.data_dir);
  }
  std::ostream& log = options.json ? std::cerr : std::cout;
  if (!prepare_dataset(data, options, log)) log << "reusing the data in " << data.string() << '\n';
  Scratch work(data / ("scratch-" + std::to_string(getpid())));
  Bench bench(options, data, work.path());
  bench.run(log);
  if (options.json) {
    std::cout << bench.to_json().dump() << '\n';
  } else {
    std::cout << '\n';
    bench.print(std::cout);
  }
}

}  // namespace

void register_bench_backup(CLI::App& bench, Context& context) {
  (void)context;  // the bench builds its own settings: the user's .env must not point it at real data
  auto options = std::make_shared<Options>();
  CLI::App* command = bench.add_subcommand(
      "backup",
      "lunadb backup / restore beside sqlite3 .backup and cp, lunadb copy into PostgreSQL, pg_dump / pg_restore beside "
      "lunadb's backup of that PostgreSQL database; peer script: bench/peers/run_backup.sh");
  command->add_option("--messages", options->messages, "Messages in the generated database")->capture_default_str();
  command->add_option("--facts", options->facts, "Facts in the generated database")->capture_default_str();
  command->add_option("--vectors", options->vectors, "Records in the luna_facts collection")->capture_default_str();
  command->add_option("--dim", options->dim, "Vector dimension")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--seed", options->seed, "Seed of the generated data")->capture_default_str();
  command->add_option("--data-dir", options->data_dir,
                      "Keep the generated data here and reuse them on the next run with the same sizes (default: a temporary "
                      "folder, removed)");
  command->add_option("--pg-url", options->pg_url,
                      "PostgreSQL server for copy, pg_dump and the server backup (scratch databases are created and dropped)")
      ->capture_default_str();
  command->add_flag("--no-postgres", options->no_postgres, "Skip the PostgreSQL measurements");
  command->add_option("--repeat", options->repeat, "Runs of every timed step; the best is reported")->capture_default_str()->check(CLI::Range(1, 20));
  command->add_flag("--json", options->json, "Print the results as one JSON line (progress goes to stderr)");
  command->callback([options] { run_bench(*options); });
}

}  // namespace lunadb::cli
