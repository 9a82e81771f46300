// `lunadb vectors copy --to pgvector|embedded`: moves collections between the embedded store at
// CHROMA_PATH and the pgvector store at VECTOR_URL, whichever VECTOR_BACKEND names, in committed
// batches, then proves the copy: equal counts, every record read back identical by id, and a
// sample of records each found by a query with its own embedding.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/vector_import.hpp"
#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "lunadb/vector.hpp"
#include "vector/record_db.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;

struct CopyOptions {
  std::string to;
  std::vector<std::string> collections;  // empty: all of the source's
  std::size_t batch = 500;
  bool upsert = false;
  std::size_t verify_queries = 100;
  bool progress = false;
  bool lossy = false;  // the destination stores float16 (VECTOR_PG_TYPE=halfvec): vectors compare within its precision
};

// One end of the copy: its store and how messages name it (never with VECTOR_URL's password).
struct End {
  std::unique_ptr<vector::VectorStore> store;
  std::string location;
};

// The pgvector end's settings whatever VECTOR_BACKEND says: a deployment copies into pgvector
// before it switches the setting, and back out after switching it.
Settings pgvector_settings(Context& context) {
  if (context.settings().vector_backend == VectorBackend::pgvector) return context.settings();
  auto overrides = context.overrides;
  overrides["VECTOR_BACKEND"] = "pgvector";
  try {
    return load_settings(overrides);
  } catch (const Error& e) {
    throw Error(e.kind(), std::string("copy: the pgvector end: ") + e.what());
  }
}

End open_pgvector_end(Context& context, CopyOptions& options) {
  Settings settings = pgvector_settings(context);
  options.lossy = options.to == "pgvector" && settings.vector_halfvec;
  return {vector::open_pgvector_store(settings), store_location(settings)};
}

End open_embedded_end(const Settings& settings, bool source) {
  Settings embedded = settings;
  embedded.vector_backend = VectorBackend::embedded;
  End end{nullptr, store_location(embedded)};
  // A source that holds no lunadb store is refused rather than created empty.
  if (source && !fs::exists(settings.chroma_path / vector::detail::kRecordsFileName)) {
    throw Error(ErrorKind::not_found, "copy: no embedded vector store at " + settings.chroma_path.string() + " (CHROMA_PATH)");
  }
  end.store = vector::VectorStore::open(settings.chroma_path);
  return end;
}

// Bit for bit, or within float16's rounding (11 significant bits; subnormals absolutely) when lossy.
bool same_vector(const std::vector<float>& got, const std::vector<float>& want, bool lossy) {
  return got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin(), [lossy](float x, float y) {
           return x == y || (lossy && std::fabs(x - y) <= std::fabs(y) * 1e-3f + 1e-7f);
         });
}

class Copier {
 public:
  Copier(const CopyOptions& options, End& from, End& to) : options_(options), from_(from), to_(to) {
    show_progress_ = options.progress || ::isatty(STDERR_FILENO) == 1;
    terminal_ = !options.progress;
  }

  void copy(const std::string& name) {
    auto source = from_.store->get_collection(name);
    const vector::CollectionConfig& config = source->config();
    std::shared_ptr<vector::Collection> destination = open_destination(config);

    vector::GetRequest all_ids;
    all_ids.include = 0;
    const std::vector<std::string> ids = source->get(all_ids).ids;
    std::size_t copied = 0, batches = 0;
    for (std::size_t begin = 0; begin < ids.size(); begin += options_.batch) {
      vector::GetRequest page;
      page.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                      ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), begin + options_.batch)));
      page.include = vector::include_embeddings | vector::include_documents | vector::include_metadatas;
      const vector::GetResult records = source->get(page);
      std::vector<vector::Record> batch;
      batch.reserve(records.ids.size());
      for (std::size_t i = 0; i < records.ids.size(); ++i) {
        batch.push_back({records.ids[i], records.embeddings[i], records.documents[i], records.metadatas[i]});
      }
      try {
        if (options_.upsert) {
          destination->upsert(batch);
        } else {
          destination->add(batch);
        }
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("copy '{}' to {}: {} ({} records in {} batches were committed before; re-run with --upsert "
                                          "to resume)",
                                          name, to_.location, e.what(), copied, batches));
      }
      verify_read_back(name, *destination, records, page);
      copied += batch.size();
      ++batches;
      report(name, copied, ids.size(), batches);
    }
    if (show_progress_ && terminal_ && batches > 0) std::cerr << '\n' << std::flush;

    const std::size_t source_count = source->count(), destination_count = destination->count();
    if (source_count != destination_count) {
      throw Error(ErrorKind::corrupt, fmt::format("copy '{}': {} holds {} records but {} holds {}", name, to_.location,
                                                  destination_count, from_.location, source_count));
    }
    const std::size_t found = verify_queries(name, *destination, ids);
    std::cout << fmt::format("copied '{}': {} records in {} {} from {} to {}; verified: counts equal, every record read back "
                             "identical, {} {} by a record's own embedding found it\n",
                             name, copied, batches, batches == 1 ? "batch" : "batches", from_.location, to_.location, found,
                             found == 1 ? "query" : "queries");
  }

 private:
  std::shared_ptr<vector::Collection> open_destination(const vector::CollectionConfig& config) {
    if (!options_.upsert) {
      try {
        return to_.store->create_collection(config);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::constraint) throw;
        throw Error(ErrorKind::constraint, fmt::format("copy: collection '{}' already exists in {}; re-run with --upsert to copy "
                                                       "into it (this resumes an interrupted copy)",
                                                       config.name, to_.location));
      }
    }
    try {
      return to_.store->get_or_create_collection(config);
    } catch (const Error& e) {
      throw Error(ErrorKind::usage, fmt::format("copy '{}' into {}: {}", config.name, to_.location, e.what()));
    }
  }

  // The batch just committed, read back from the destination by id: the same records, field by
  // field, vectors bit for bit (into halfvec: within its precision).
  void verify_read_back(const std::string& name, vector::Collection& destination, const vector::GetResult& want,
                        const vector::GetRequest& page) const {
    const vector::GetResult got = destination.get(page);
    auto mismatch = [&](const std::string& id, const char* what) {
      throw Error(ErrorKind::corrupt, fmt::format("copy '{}': record '{}' reads back from {} with a different {}", name, id,
                                                  to_.location, what));
    };
    if (got.ids.size() != want.ids.size()) {
      throw Error(ErrorKind::corrupt, fmt::format("copy '{}': {} of a batch of {} records read back from {}", name, got.ids.size(),
                                                  want.ids.size(), to_.location));
    }
    for (std::size_t i = 0; i < want.ids.size(); ++i) {
      // Both stores answer a get by ids in insertion order, which the copy kept.
      if (got.ids[i] != want.ids[i]) mismatch(want.ids[i], "position");
      if (!same_vector(got.embeddings[i], want.embeddings[i], options_.lossy)) mismatch(want.ids[i], "embedding");
      if (got.documents[i] != want.documents[i]) mismatch(want.ids[i], "document");
      if (got.metadatas[i] != want.metadatas[i]) mismatch(want.ids[i], "metadata");
    }
  }

  // Up to --verify-queries records spread over the collection, each queried by its own embedding
  // through the destination's index. With an inner product a record need not be its own nearest
  // neighbour, so there only the read-back proves it; ties (duplicate vectors) may hide a record
  // behind k others at distance 0, which then counts as found.
  std::size_t verify_queries(const std::string& name, vector::Collection& destination, const std::vector<std::string>& ids) const {
    if (destination.config().distance == vector::Distance::ip || ids.empty() || options_.verify_queries == 0) return 0;
    const std::size_t samples = std::min(options_.verify_queries, ids.size());
    std::size_t found = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      const std::string& id = ids[s * ids.size() / samples];
      vector::GetRequest one;
      one.ids = {id};
      one.include = vector::include_embeddings;
      const auto record = destination.get(one);
      vector::QueryRequest q;
      q.embeddings = {record.embeddings.at(0)};
      q.n_results = 10;
      q.include = vector::include_distances;
      const vector::Matches m = destination.query(q).at(0);
      const bool itself = std::find(m.ids.begin(), m.ids.end(), id) != m.ids.end();
      const bool tied = m.ids.size() == q.n_results && m.distances.back() <= 1e-6f;
      if (!itself && !tied) {
        throw Error(ErrorKind::corrupt, fmt::format("copy '{}': a query by record '{}''s own embedding does not find it in {}", name,
                                                    id, to_.location));
      }
      ++found;
    }
    return found;
  }

  void report(const std::string& name, std::size_t copied, std::size_t total, std::size_t batches) const {
    if (!show_progress_) return;
    if (terminal_) {
      std::cerr << fmt::format("\rcopying '{}': {}/{} records, {} {}", name, copied, total, batches, batches == 1 ? "batch" : "batches")
                << std::flush;
    } else {
      std::cerr << fmt::format("copy '{}': committed batch {} ({}/{} records)\n", name, batches, copied, total);
    }
  }

  const CopyOptions& options_;
  End& from_;
  End& to_;
  bool show_progress_ = false;
  bool terminal_ = false;
};

}  // namespace

void register_vector_copy(CLI::App& group, Context& context) {
  auto options = std::make_shared<CopyOptions>();
  CLI::App* copy = group.add_subcommand(
      "copy", "Copy collections between the embedded store (CHROMA_PATH) and pgvector (VECTOR_URL) in committed batches, then "
              "verify: equal counts, every record read back identical, sampled records found by their own embedding");
  copy->add_option("--to", options->to, "Destination: pgvector (from CHROMA_PATH) or embedded (from VECTOR_URL)")
      ->required()
      ->check(CLI::IsMember({"pgvector", "embedded"}));
  copy->add_option("--collection,-c", options->collections, "Only this collection (repeatable; default every collection)");
  copy->add_option("--batch", options->batch, "Records per commit (default 500)");
  copy->add_flag("--upsert", options->upsert,
                 "Copy into existing collections, replacing records with the same id (resumes an interrupted copy)");
  copy->add_option("--verify-queries", options->verify_queries,
                   "Records per collection checked by a query with their own embedding (default 100; 0 skips)");
  copy->add_flag("--progress", options->progress,
                 "Report every committed batch on stderr (default: a progress line only when stderr is a terminal)");
  copy->callback([&context, options] {
    if (options->batch == 0) throw Error(ErrorKind::usage, "--batch must be at least 1");
    const Settings& settings = context.settings();
    End pgvector = open_pgvector_end(context, *options);
    End embedded = open_embedded_end(settings, options->to == "pgvector");
    End& from = options->to == "pgvector" ? embedded : pgvector;
    End& to = options->to == "pgvector" ? pgvector : embedded;
    std::vector<std::string> names = options->collections;
    if (names.empty()) {
      for (const auto& config : from.store->list_collections()) names.push_back(config.name);
    }
    if (names.empty()) {
      std::cout << "no collections in " << from.location << "; nothing copied\n";
      return;
    }
    Copier copier(*options, from, to);
    for (const auto& name : names) {
      try {
        copier.copy(name);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::not_found) throw;
        throw Error(ErrorKind::not_found, std::string(e.what()) + " in " + from.location);
      }
    }
  });
}

}  // namespace lunadb::cli
