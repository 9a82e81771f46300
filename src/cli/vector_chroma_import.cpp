// `lunadb vectors import-chroma PATH`: Luna's ChromaDB folder into lunadb's vector store.
//
// ChromaDB's on-disk format is its own and changes between versions (0.5's pickled id maps and
// write-ahead queue, 1.x's Rust segments), so lunadb does not parse it: the user's own chromadb
// (the version that wrote the folder) exports it, from a copy, through scripts/export-chroma.py,
// which the binary carries. lunadb then imports the JSON Lines and proves the result: counts per
// collection, and every record found by its own vector.
#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli/commands.hpp"
#include "cli/vector_import.hpp"
#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli {

extern const std::string_view kExportChromaScript;

namespace {

namespace fs = std::filesystem;
using namespace vectors;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A private scratch folder, removed on every path out.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::random_device seed;
    path = fs::temp_directory_path() / fmt::format("lunadb-import-chroma-{:x}", seed());
    fs::create_directories(path);
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

struct Verification {
  std::size_t checked = 0;
  std::size_t missing = 0;       // the record's own vector does not reach it: a failure
  std::size_t index_misses = 0;  // found only by an exact look, not in the top 10 (HNSW recall)
};

// Every record queried with its own embedding: among the 10 nearest, or, restricted to its id, at
// distance ~0 (duplicates of one vector tie, so the top 10 may hold only the others).
Verification verify_self_lookup(const vector::Collection& collection) {
  Verification out;
  vector::GetRequest ids_only;
  ids_only.include = 0;
  const auto ids = collection.get(ids_only).ids;
  constexpr std::size_t kPage = 1000;
  for (std::size_t begin = 0; begin < ids.size(); begin += kPage) {
    vector::GetRequest page;
    page.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                    ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), begin + kPage)));
    page.include = vector::include_embeddings;
    const auto records = collection.get(page);
    for (std::size_t i = 0; i < records.ids.size(); ++i) {
      ++out.checked;
      vector::QueryRequest query;
      query.embeddings = {records.embeddings[i]};
      query.n_results = 10;
      query.include = vector::include_distances;
      const auto near = collection.query(query).front();
      if (std::find(near.ids.begin(), near.ids.end(), records.ids[i]) != near.ids.end()) continue;
      query.ids = {records.ids[i]};
      const auto exact = collection.query(query).front();
      if (exact.ids.size() == 1 && exact.distances[0] <= 1e-5f) {
        ++out.index_misses;
      } else {
        ++out.missing;
      }
    }
  }
  return out;
}

}  // namespace

void register_vector_import_chroma(CLI::App& group, Context& context) {
  struct Options {
    std::string source;
    std::string python;
    bool upsert = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand(
      "import-chroma",
      "Import a ChromaDB folder as Luna writes it (luna_memories, luna_episodes) into the vector store at CHROMA_PATH, "
      "then verify counts and that every record finds itself. The folder is read through a copy and never changed");
  command->add_option("path", options->source, "The ChromaDB persistent folder (Luna's data/chroma)")->required();
  command->add_option("--python", options->python,
                      "Python with the chromadb that wrote the folder (default: $LUNADB_CHROMA_PYTHON, else python3)");
  command->add_flag("--upsert", options->upsert, "Import into collections that already hold records (a re-run)");
  command->callback([&context, options] {
    const fs::path source = fs::absolute(options->source);
    if (!fs::is_regular_file(source / "chroma.sqlite3")) {
      throw Error(ErrorKind::not_found,
                  source.string() + ": no chroma.sqlite3 here, so this is not a ChromaDB persistent folder");
    }
    std::string python = options->python;
    if (python.empty()) python = std::getenv("LUNADB_CHROMA_PYTHON") ? std::getenv("LUNADB_CHROMA_PYTHON") : "python3";
    const Settings& settings = context.settings();

    ScratchDir scratch;
    const fs::path script = scratch.path / "export-chroma.py";
    std::ofstream(script, std::ios::binary) << kExportChromaScript;
    const fs::path out_dir = scratch.path / "export";
    const fs::path log = scratch.path / "export.log";
    std::cerr << "exporting " << source.string() << " with " << python << " (a copy; the folder is not changed)\n";
    const std::string run = shell_quote(python) + " " + shell_quote(script.string()) + " " + shell_quote(source.string()) +
                            " " + shell_quote(out_dir.string()) + " >" + shell_quote(log.string()) + " 2>&1";
    const int status = std::system(run.c_str());
    if (status != 0 || !fs::exists(out_dir / "manifest.json")) {
      std::string detail = read_all(log);
      if (detail.size() > 4000) detail = "..." + detail.substr(detail.size() - 4000);
      throw Error(ErrorKind::io,
                  fmt::format("exporting the ChromaDB folder with {} failed (exit {}); nothing was imported:\n{}", python,
                              WIFEXITED(status) ? WEXITSTATUS(status) : status, detail));
    }
    const nlohmann::json manifest = nlohmann::json::parse(read_all(out_dir / "manifest.json"));

    auto store = vector::VectorStore::open(settings.chroma_path);
    const auto existing = store->list_collections();
    if (!options->upsert) {
      for (const auto& [target, info] : manifest["collections"].items()) {
        for (const auto& config : existing) {
          if (config.name == target && store->get_collection(target)->count() > 0) {
            throw Error(ErrorKind::constraint,
                        fmt::format("collection '{}' in {} already holds {} records; re-run with --upsert to import "
                                    "into it (records with the same id are replaced); nothing was imported",
                                    target, settings.chroma_path.string(), store->get_collection(target)->count()));
          }
        }
      }
    }
    bool all_verified = true;
    for (const auto& [target, info] : manifest["collections"].items()) {
      ImportOptions import_options;
      import_options.collection = target;
      import_options.source_name = info["source"].get<std::string>() + " (" + target + ".jsonl)";
      import_options.upsert = options->upsert;
      import_options.distance = vector::parse_distance(info["distance"].get<std::string>());
      import_options.batch_size = 1000;
      std::ifstream lines(out_dir / (target + ".jsonl"), std::ios::binary);
      LineReader reader(lines);
      ImportSummary summary;
      run_import(*store, import_options, reader,
                 []() -> Embedder& { throw Error(ErrorKind::internal, "an exported record has no embedding"); },
                 summary, std::cerr);
      const auto collection = store->get_collection(target);
      const std::size_t expected = info["count"].get<std::size_t>();
      const std::size_t count = collection->count();
      const Verification verified = verify_self_lookup(*collection);
      const bool ok = (options->upsert ? count >= expected : count == expected) && verified.missing == 0;
      all_verified = all_verified && ok;
      std::cout << fmt::format("{} -> {}: {} records in Chroma, {} in lunadb; {} of {} find themselves{}{}\n",
                               info["source"].get<std::string>(), target, expected, count,
                               verified.checked - verified.missing, verified.checked,
                               verified.index_misses > 0
                                   ? fmt::format(" ({} only by an exact look, beyond the index's top 10)", verified.index_misses)
                                   : std::string(),
                               ok ? "" : "  MISMATCH");
    }
    if (manifest["collections"].empty()) std::cout << "the ChromaDB folder holds no records; nothing to import\n";
    if (!all_verified) throw Exit{kExitFailure};
  });
}

}  // namespace lunadb::cli
