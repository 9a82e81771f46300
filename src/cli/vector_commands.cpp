// `lunadb vectors ...`: inspect and edit the vector store VECTOR_BACKEND selects (the embedded one
// at CHROMA_PATH, or pgvector at VECTOR_URL): list, stats, count, get, query, delete, import,
// export, copy. JSON in and out follows ChromaDB's shapes.

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/vector_import.hpp"
#include "cli/vector_io.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "lunadb/serve.hpp"
#include "lunadb/vector.hpp"
#include "vector/record_db.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;
using vector::Json;
using namespace vectors;

}  // namespace

std::string store_location(const Settings& settings) {
  if (settings.vector_backend == VectorBackend::pgvector) return "the pgvector store at " + settings.vector_db.redacted() + " (VECTOR_URL)";
  return "the vector store at " + settings.chroma_path.string() + " (CHROMA_PATH)";
}

namespace {

// Read-only commands never create anything in CHROMA_PATH: a missing store is an empty one, and so
// is a folder that holds no lunadb store. Luna's own layout puts ChromaDB's files in CHROMA_PATH,
// and opening the store there would add lunadb-vectors.sqlite3 and LOCK beside them. (pgvector's
// catalog lives in its own tables, which the vector migration creates: opening it adds no files.)
std::unique_ptr<vector::VectorStore> open_store(const Settings& settings, bool create) {
  if (settings.vector_backend == VectorBackend::pgvector) return vector::open_configured_store(settings);
  if (!create && !fs::exists(settings.chroma_path / vector::detail::kRecordsFileName)) {
    if (fs::exists(settings.chroma_path / "chroma.sqlite3")) {
      std::cerr << "lunadb: CHROMA_PATH (" << settings.chroma_path.string()
                << ") holds ChromaDB's files and no lunadb vector store; nothing was created or changed there\n";
    }
    return nullptr;
  }
  try {
    return vector::VectorStore::open(settings.chroma_path);
  } catch (const Error& e) {
    // A server holding the store answers for it; without one (or after it was killed, leaving
    // its address file) the lock error stands.
    if (e.kind() != ErrorKind::busy) throw;
    const auto url = serve::read_address_file(settings.chroma_path);
    if (!url) throw;
    std::unique_ptr<vector::VectorStore> remote;
    try {
      remote = serve::connect_remote_store(*url, settings.serve_token, settings.chroma_path);
    } catch (const Error& unreachable) {
      throw Error(ErrorKind::busy, std::string(e.what()) + "; " + unreachable.what() + " (" +
                                       serve::kAddressFileName + " there is left from an earlier server)");
    }
    std::cerr << "lunadb: the vector store at " << settings.chroma_path.string() << " is held by lunadb serve at "
              << *url << "; going through it\n";
    return remote;
  }
}

std::shared_ptr<vector::Collection> open_collection(vector::VectorStore* store, const std::string& name,
                                                    const Settings& settings) {
  const std::string hint = " in " + store_location(settings) + "; `lunadb vectors list` shows the collections";
  if (!store) throw Error(ErrorKind::not_found, "collection '" + name + "' does not exist" + hint);
  try {
    return store->get_collection(name);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) throw Error(ErrorKind::not_found, e.what() + hint);
    throw;
  }
}

Json parse_filter(const std::string& text, const char* option) {
  if (text.empty()) return Json();
  return vector::parse_json(text, option);
}

std::string dump(const OrderedJson& value, bool pretty) { return pretty ? value.dump(2) : value.dump(); }

struct FilterOptions {
  std::vector<std::string> id_arguments;  // as typed: see ids()
  std::string where;
  std::string where_document;

  // Each --ids value is a JSON list of strings when it starts with '[' (the only way to name an id
  // that contains a comma), otherwise comma-separated ids; --ids may be repeated.
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& argument : id_arguments) {
      if (!argument.empty() && argument.front() == '[') {
        const Json list = vector::parse_json(argument, "--ids");
        for (const auto& id : list) {
          if (!id.is_string()) throw Error(ErrorKind::usage, "--ids: a JSON list must hold only strings, found " + id.dump());
          out.push_back(id.get<std::string>());
        }
        continue;
      }
      std::size_t begin = 0;
      for (;;) {
        const std::size_t comma = argument.find(',', begin);
        out.push_back(argument.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
        if (comma == std::string::npos) break;
        begin = comma + 1;
      }
    }
    return out;
  }
};

void add_filter_options(CLI::App* command, FilterOptions& filters) {
  command->add_option("--ids", filters.id_arguments,
                      "Only records with these ids: comma-separated, or a JSON list such as '[\"a,b\",\"c\"]' for ids "
                      "with commas; repeatable")
      ->allow_extra_args(false);
  command->add_option("--where", filters.where,
                      "Metadata filter, ChromaDB's JSON grammar, e.g. '{\"kind\":\"fact\"}' or "
                      "'{\"$and\":[{\"kind\":\"fact\"},{\"score\":{\"$gte\":0.5}}]}'")
      ->type_name("JSON");
  command->add_option("--where-document", filters.where_document,
                      "Document filter, e.g. '{\"$contains\":\"coffee\"}' ($contains, $not_contains, $regex, "
                      "$not_regex, $and, $or)")
      ->type_name("JSON");
}

CLI::Option* add_collection_option(CLI::App* command, std::string& collection) {
  return command->add_option("--collection,-c", collection, "Collection name")->required();
}

// ---------------------------------------------------------------------------------------------

void register_list(CLI::App& group, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* list = group.add_subcommand("list", "List the collections with count, dimension, distance and embedding model");
  list->add_flag("--json", *json, "Print a JSON array instead of a table");
  list->callback([&context, json] {
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    std::vector<vector::CollectionConfig> configs;
    if (store) configs = store->list_collections();
    OrderedJson rows = OrderedJson::array();
    for (const auto& config : configs) {
      OrderedJson row;
      row["name"] = config.name;
      row["count"] = store->get_collection(config.name)->count();
      row["dimension"] = config.dimension;
      row["distance"] = vector::to_string(config.distance);
      row["embedding_model"] = config.embedding_model;
      rows.push_back(std::move(row));
    }
    if (*json) {
      std::cout << rows.dump(2) << '\n';
      return;
    }
    if (rows.empty()) {
      std::cout << "no collections in " << store_location(settings) << '\n';
      return;
    }
    std::size_t width = 10;
    for (const auto& row : rows) width = std::max(width, row["name"].get<std::string>().size());
    std::cout << fmt::format("{:<{}}  {:>10}  {:>9}  {:<8}  {}\n", "collection", width, "count", "dimension", "distance",
                             "model");
    for (const auto& row : rows) {
      const std::string model = row["embedding_model"].get<std::string>();
      std::cout << fmt::format("{:<{}}  {:>10}  {:>9}  {:<8}  {}\n", row["name"].get<std::string>(), width,
                               row["count"].get<std::size_t>(), row["dimension"].get<int>(),
                               row["distance"].get<std::string>(), model.empty() ? "(none)" : model);
    }
  });
}

void register_stats(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* stats = group.add_subcommand("stats", "Show a collection's configuration, count and index state");
  add_collection_option(stats, options->collection);
  stats->add_flag("--json", options->json, "Print JSON");
  stats->callback([&context, options] {
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    const auto& config = collection->config();
    const vector::CollectionStats s = collection->stats();
    OrderedJson out;
    out["name"] = s.name;
    out["count"] = s.count;
    out["dimension"] = config.dimension;
    out["distance"] = vector::to_string(config.distance);
    out["embedding_model"] = config.embedding_model;
    out["hnsw_m"] = config.index.m;
    out["ef_construction"] = config.index.ef_construction;
    out["ef_search"] = config.index.ef_search;
    out["hnsw_active"] = s.hnsw_active;
    out["index_elements"] = s.index_elements;
    out["index_deleted"] = s.index_deleted;
    out["last_seq"] = s.last_seq;
    out["snapshot_seq"] = s.snapshot_seq;
    out["index_recovery"] = s.index_recovery;
    out["search_plan"] = s.search_plan;
    out["search_ef"] = s.search_ef;
    out["sampled_recall"] = s.sampled_recall;
    if (options->json) {
      std::cout << out.dump(2) << '\n';
      return;
    }
    std::cout << fmt::format("collection       {}\n", s.name);
    std::cout << fmt::format("records          {}\n", s.count);
    std::cout << fmt::format("dimension        {}\n", config.dimension);
    std::cout << fmt::format("distance         {}\n", vector::to_string(config.distance));
    std::cout << fmt::format("embedding model  {}\n", config.embedding_model.empty() ? "(none)" : config.embedding_model);
    std::cout << fmt::format("search           {}\n", s.search_plan);
    std::cout << fmt::format("hnsw params      M {}, ef_construction {}, ef_search {}\n", config.index.m,
                             config.index.ef_construction, config.index.ef_search);
    std::cout << fmt::format("index elements   {} ({} deleted)\n", s.index_elements, s.index_deleted);
    std::cout << fmt::format("last seq         {}\n", s.last_seq);
    std::cout << fmt::format("snapshot seq     {}\n", s.snapshot_seq);
    std::cout << fmt::format("index recovery   {}\n", s.index_recovery.empty() ? "(none: loaded cleanly)" : s.index_recovery);
  });
}

void register_count(CLI::App& group, Context& context) {
  auto collection_name = std::make_shared<std::string>();
  CLI::App* count = group.add_subcommand("count", "Print the number of records in a collection");
  add_collection_option(count, *collection_name);
  count->callback([&context, collection_name] {
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    std::cout << open_collection(store.get(), *collection_name, settings)->count() << '\n';
  });
}

void register_get(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    FilterOptions filters;
    std::size_t limit = 0;
    bool limited = false;
    std::size_t offset = 0;
    std::vector<std::string> include{"documents", "metadatas"};
    bool pretty = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* get = group.add_subcommand(
      "get", "Print records as JSON in ChromaDB's get shape {\"ids\":[...],\"documents\":[...],\"metadatas\":[...]}, "
             "in insertion order");
  add_collection_option(get, options->collection);
  add_filter_options(get, options->filters);
  CLI::Option* limit = get->add_option("--limit", options->limit, "At most this many records");
  get->add_option("--offset", options->offset, "Skip this many matching records first");
  get->add_option("--include", options->include, "Fields: embeddings,documents,metadatas (default documents,metadatas); '' for ids only")
      ->delimiter(',');
  get->add_flag("--pretty", options->pretty, "Indent the JSON");
  get->callback([&context, options, limit] {
    vector::GetRequest request;
    request.ids = options->filters.ids();
    request.where = parse_filter(options->filters.where, "--where");
    request.where_document = parse_filter(options->filters.where_document, "--where-document");
    if (limit->count() > 0) request.limit = options->limit;
    request.offset = options->offset;
    request.include = parse_include(options->include, vector::include_embeddings | vector::include_documents |
                                                          vector::include_metadatas);
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    std::cout << dump(get_result_json(collection->get(request), request.include), options->pretty) << '\n';
  });
}

std::vector<std::vector<float>> parse_query_embeddings(const std::string& text) {
  const Json value = vector::parse_json(text, "--embedding");
  auto to_vector = [](const Json& list, const std::string& what) {
    if (!list.is_array() || list.empty()) {
      throw Error(ErrorKind::invalid_argument, what + " must be a non-empty array of numbers");
    }
    std::vector<float> out;
    for (const auto& number : list) {
      if (!number.is_number()) throw Error(ErrorKind::invalid_argument, what + " must contain only numbers");
      out.push_back(number.get<float>());
    }
    return out;
  };
  std::vector<std::vector<float>> queries;
  if (value.is_array() && !value.empty() && value.front().is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) queries.push_back(to_vector(value[i], "--embedding vector " + std::to_string(i)));
  } else {
    queries.push_back(to_vector(value, "--embedding"));
  }
  return queries;
}

void register_query(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    std::string embedding;
    std::vector<std::string> texts;
    int k = 0;
    FilterOptions filters;
    std::vector<std::string> include{"documents", "metadatas", "distances"};
    bool pretty = false;
    std::size_t ef = 0;
    bool exact = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* query = group.add_subcommand(
      "query", "Nearest neighbours as JSON in ChromaDB's query shape "
               "{\"ids\":[[...]],\"distances\":[[...]],\"documents\":[[...]],\"metadatas\":[[...]]}, one inner list per "
               "query");
  add_collection_option(query, options->collection);
  CLI::Option* embedding = query->add_option("--embedding", options->embedding,
                                             "Query vector as JSON: [0.1, ...] or several: [[...], [...]]")
                               ->type_name("JSON");
  CLI::Option* text = query->add_option("--text", options->texts,
                                        "Query text, embedded by the configured provider (EMBEDDING_PROVIDER); "
                                        "repeatable");
  embedding->excludes(text);
  CLI::Option* k = query->add_option("--k,-k,--n-results", options->k,
                                     "Results per query (default MEMORY_RETRIEVAL_COUNT)");
  add_filter_options(query, options->filters);
  query->add_option("--include", options->include,
                    "Fields: embeddings,documents,metadatas,distances (default documents,metadatas,distances); '' for ids only")
      ->delimiter(',');
  query->add_flag("--pretty", options->pretty, "Indent the JSON");
  CLI::Option* ef = query->add_option("--ef", options->ef, "HNSW candidate list for this query (default: the collection's search plan)")
                        ->check(CLI::Range(1, 100000));
  query->add_flag("--exact", options->exact, "Compare with every record (recall 1, linear time)")->excludes(ef);
  query->callback([&context, options, k, ef] {
    if (options->embedding.empty() && options->texts.empty()) {
      throw Error(ErrorKind::usage, "query: give --embedding JSON or --text TEXT");
    }
    vector::QueryRequest request;
    request.ids = options->filters.ids();
    request.where = parse_filter(options->filters.where, "--where");
    request.where_document = parse_filter(options->filters.where_document, "--where-document");
    request.include = parse_include(options->include, vector::include_all);
    if (ef->count() > 0) request.ef_search = options->ef;
    request.exact = options->exact;
    const Settings& settings = context.settings();
    const int n_results = k->count() > 0 ? options->k : settings.memory_retrieval_count;
    if (n_results < 1) throw Error(ErrorKind::usage, "--k must be at least 1, got " + std::to_string(n_results));
    request.n_results = static_cast<std::size_t>(n_results);
    if (!options->embedding.empty()) request.embeddings = parse_query_embeddings(options->embedding);
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    if (!options->texts.empty()) {
      auto embedder = make_embedder(settings);
      require_same_model(collection->config(), *embedder);
      request.embeddings = embedder->embed(options->texts);
      request.embedding_model = embedder->model();
    }
    std::cout << dump(query_result_json(collection->query(request), request.include), options->pretty) << '\n';
  });
}

void register_delete(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    FilterOptions filters;
  };
  auto options = std::make_shared<Options>();
  CLI::App* remove = group.add_subcommand(
      "delete", "Delete the records matching all given filters (--ids, --where, --where-document); at least one is "
                "required");
  add_collection_option(remove, options->collection);
  add_filter_options(remove, options->filters);
  remove->callback([&context, options] {
    vector::DeleteRequest request;
    request.ids = options->filters.ids();
    request.where = parse_filter(options->filters.where, "--where");
    request.where_document = parse_filter(options->filters.where_document, "--where-document");
    if (request.ids.empty() && request.where.is_null() && request.where_document.is_null()) {
      throw Error(ErrorKind::usage,
                  "delete: give --ids, --where or --where-document (refusing to delete every record of '" +
                      options->collection + "')");
    }
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    const std::size_t removed = collection->remove(request);
    std::cout << "deleted " << removed << (removed == 1 ? " record" : " records") << " from '" << options->collection
              << "'\n";
  });
}

// `lunadb vectors export | lunadb vectors import -` on one store: the exporter holds the store's
// lock until it has written everything, so while the store is busy the importer reads its stdin
// ahead (letting the exporter finish) and waits up to 10 s after the end of its input.
// `update` changes one record in place, as Chroma's collection.update() does: the embedding, the
// document and metadata keys that are given (a null metadata value removes its key).
void register_update(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    std::string id;
    std::string embedding;
    std::optional<std::string> document;
    std::string metadata;
    bool keep_embedding = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* update = group.add_subcommand(
      "update", "Change one record: its embedding, its document (re-embedded by the configured provider unless "
                "--embedding or --keep-embedding is given) and metadata keys (merged; a null value removes the key)");
  add_collection_option(update, options->collection);
  update->add_option("--id", options->id, "The record's id")->required();
  CLI::Option* embedding = update->add_option("--embedding", options->embedding, "New vector as JSON: [0.1, ...]")->type_name("JSON");
  update->add_option("--document", options->document, "New document text");
  update->add_option("--metadata", options->metadata, "Metadata to merge, as a JSON object")->type_name("JSON");
  CLI::Option* keep = update->add_flag("--keep-embedding", options->keep_embedding,
                                       "With --document: keep the record's vector instead of embedding the new text");
  embedding->excludes(keep);
  update->callback([&context, options] {
    vector::RecordUpdate change;
    change.id = options->id;
    change.document = options->document;
    if (!options->metadata.empty()) {
      change.metadata = vector::parse_json(options->metadata, "--metadata");
      if (!change.metadata.is_object()) throw Error(ErrorKind::usage, "--metadata must be a JSON object, got " + change.metadata.dump());
    }
    if (!options->embedding.empty()) {
      auto vectors = parse_query_embeddings(options->embedding);
      if (vectors.size() != 1) throw Error(ErrorKind::usage, "--embedding: give one vector, got " + std::to_string(vectors.size()));
      change.embedding = std::move(vectors.front());
    }
    if (!change.embedding && !change.document && change.metadata.is_null()) {
      throw Error(ErrorKind::usage, "update: give --embedding, --document or --metadata (nothing to change)");
    }
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    if (change.document && !change.embedding && !options->keep_embedding) {
      auto embedder = make_embedder(settings);
      require_same_model(collection->config(), *embedder);
      change.embedding = embedder->embed({*change.document}).front();
    }
    // Chroma skips unknown ids silently; a command line that changed nothing says so and fails.
    if (collection->update({change}) == 0) {
      throw Error(ErrorKind::not_found, "no record with id '" + options->id + "' in '" + options->collection + "'; nothing updated");
    }
    std::cout << "updated record '" << options->id << "' in '" << options->collection << "'\n";
  });
}

std::unique_ptr<vector::VectorStore> open_store_for_import(const Settings& settings, LineReader& reader, bool from_stdin) {
  constexpr std::size_t kMaxReadAheadBytes = std::size_t{1} << 30;
  constexpr auto kWaitAfterInput = std::chrono::seconds(10);
  std::optional<std::chrono::steady_clock::time_point> input_ended;
  // The first line arrives only once a writer upstream has opened the store itself: opening ours
  // before would lock it out.
  if (from_stdin && !reader.read_ahead(1)) input_ended = std::chrono::steady_clock::now();
  for (;;) {
    try {
      return open_store(settings, true);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::busy || !from_stdin) throw;
      const auto now = std::chrono::steady_clock::now();
      if (input_ended && now - *input_ended > kWaitAfterInput) throw;
      if (reader.buffered_bytes() > kMaxReadAheadBytes) {
        throw Error(ErrorKind::busy, std::string(e.what()) + "; gave up after reading 1 GiB of input ahead");
      }
      if (!input_ended && !reader.read_ahead(1000)) input_ended = now;
      if (input_ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void register_import(CLI::App& group, Context& context) {
  struct Options {
    std::string source;
    std::string collection;
    std::size_t batch = 500;
    bool upsert = false;
    std::string distance;
    std::string model;
    bool progress = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* import = group.add_subcommand(
      "import",
      "Import JSON Lines {\"id\",\"embedding\",\"document\",\"metadata\"} from FILE or - (stdin), creating the "
      "collection when missing. Lines without \"embedding\" are embedded from \"document\" by the configured provider. "
      "Commits every --batch records, so an interrupted import keeps its whole batches; re-run with --upsert to "
      "resume");
  import->add_option("source", options->source, "JSON Lines file, or - for stdin")->required();
  add_collection_option(import, options->collection);
  import->add_option("--batch", options->batch, "Records per commit (default 500)");
  import->add_flag("--upsert", options->upsert,
                   "Replace records whose id exists instead of failing (makes a re-run resume an interrupted import)");
  import->add_option("--distance", options->distance, "Distance of a new collection: cosine (default), l2 or ip");
  import->add_option("--model", options->model,
                     "Embedding model the file's vectors come from, recorded on a new collection (default: the "
                     "provider's model when the import embeds, else none)");
  import->add_flag("--progress", options->progress,
                   "Report every committed batch on stderr (default: a progress line only when stderr is a terminal)");
  import->callback([&context, options] {
    ImportOptions import_options;
    import_options.collection = options->collection;
    import_options.batch_size = options->batch;
    import_options.upsert = options->upsert;
    if (!options->distance.empty()) {
      try {
        import_options.distance = vector::parse_distance(options->distance);
      } catch (const Error& e) {
        throw Error(ErrorKind::usage, std::string("--distance: ") + e.what());
      }
    }
    if (!options->model.empty()) import_options.model = options->model;
    import_options.progress = options->progress ? Progress::always : Progress::automatic;
    if (options->batch == 0) throw Error(ErrorKind::usage, "--batch must be at least 1");

    std::ifstream file;
    std::istream* input = &std::cin;
    if (options->source == "-") {
      import_options.source_name = "stdin";
    } else {
      import_options.source_name = options->source;
      file.open(options->source, std::ios::binary);
      if (!file) throw Error(ErrorKind::not_found, "cannot open " + options->source + " for reading");
      input = &file;
    }
    const Settings& settings = context.settings();
    std::unique_ptr<Embedder> embedder;
    std::function<Embedder&()> embedder_factory = [&]() -> Embedder& {
      if (!embedder) embedder = make_embedder(settings);
      return *embedder;
    };
    LineReader reader(*input);
    auto store = open_store_for_import(settings, reader, options->source == "-");
    ImportSummary summary;
    try {
      run_import(*store, import_options, reader, embedder_factory, summary, std::cerr);
    } catch (const Error& e) {
      std::string committed =
          summary.records == 0
              ? std::string("; nothing was imported")
              : fmt::format("; {} records in {} {} were committed before this error (fix the input and re-run "
                            "with --upsert to resume)",
                            summary.records, summary.batches, summary.batches == 1 ? "batch" : "batches");
      throw Error(e.kind(), e.what() + committed);
    }
    std::string detail;
    if (summary.embedded > 0) detail += fmt::format(", {} embedded by the provider", summary.embedded);
    if (summary.created) {
      auto config = store->get_collection(options->collection)->config();
      detail += fmt::format("; created the collection (dimension {}, distance {}, model {})", config.dimension,
                            vector::to_string(config.distance),
                            config.embedding_model.empty() ? "(none)" : "'" + config.embedding_model + "'");
    }
    std::cout << fmt::format("imported {} records into '{}' in {} {}{}\n", summary.records, options->collection,
                             summary.batches, summary.batches == 1 ? "batch" : "batches", detail);
  });
}

void register_export(CLI::App& group, Context& context) {
  struct Options {
    std::string collection;
    bool no_embeddings = false;
    std::size_t page = 1000;
  };
  auto options = std::make_shared<Options>();
  CLI::App* export_command = group.add_subcommand(
      "export", "Print every record as JSON Lines {\"id\",\"embedding\",\"document\",\"metadata\"} in insertion order; "
                "`export | import - --collection other` copies a collection");
  add_collection_option(export_command, options->collection);
  export_command->add_flag("--no-embeddings", options->no_embeddings,
                           "Leave the vectors out, so that `import` re-embeds the documents (changing models)");
  export_command->add_option("--page", options->page, "Records read from the store at a time (default 1000)");
  export_command->callback([&context, options] {
    if (options->page == 0) throw Error(ErrorKind::usage, "--page must be at least 1");
    const Settings& settings = context.settings();
    auto store = open_store(settings, false);
    auto collection = open_collection(store.get(), options->collection, settings);
    // Ids first, then records by id: each page is one lookup instead of a scan per offset.
    vector::GetRequest all_ids;
    all_ids.include = 0;
    const std::vector<std::string> ids = collection->get(all_ids).ids;
    for (std::size_t begin = 0; begin < ids.size(); begin += options->page) {
      vector::GetRequest page;
      page.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                      ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), begin + options->page)));
      page.include = vector::include_documents | vector::include_metadatas |
                     (options->no_embeddings ? 0u : unsigned{vector::include_embeddings});
      const vector::GetResult records = collection->get(page);
      std::string out;
      for (std::size_t i = 0; i < records.ids.size(); ++i) {
        out += export_line(records.ids[i], options->no_embeddings ? nullptr : &records.embeddings[i],
                           records.documents[i], records.metadatas[i]);
        out += '\n';
      }
      std::cout << out;
    }
    std::cout.flush();
    if (!std::cout) throw Error(ErrorKind::io, "export: cannot write to stdout");
  });
}

}  // namespace

void register_vector_commands(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand(
      "vectors", "The vector store VECTOR_BACKEND selects (embedded at CHROMA_PATH, or pgvector at VECTOR_URL): list, "
                 "stats, count, get, query, delete, update, import, export, copy, import-chroma");
  group->require_subcommand(1);
  register_list(*group, context);
  register_stats(*group, context);
  register_count(*group, context);
  register_get(*group, context);
  register_query(*group, context);
  register_delete(*group, context);
  register_update(*group, context);
  register_import(*group, context);
  register_export(*group, context);
  register_vector_copy(*group, context);
  register_vector_import_chroma(*group, context);
}

}  // namespace lunadb::cli
