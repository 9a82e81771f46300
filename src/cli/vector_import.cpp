#include "cli/vector_import.hpp"

#include <unistd.h>

#include <memory>
#include <vector>

#include "cli/vector_io.hpp"
#include "lunadb/error.hpp"

namespace lunadb::cli::vectors {

namespace {

std::string model_setting(const Embedder& embedder) {
  return std::string(embedder.provider()) == "ollama" ? "OLLAMA_EMBED_MODEL" : "OPENAI_EMBED_MODEL";
}

class Importer {
 public:
  Importer(vector::VectorStore& store, const ImportOptions& options, const std::function<Embedder&()>& embedder,
           ImportSummary& summary, std::ostream& progress)
      : store_(store), options_(options), embedder_(embedder), summary_(summary), progress_(progress) {
    show_progress_ = options.progress == Progress::always ||
                     (options.progress == Progress::automatic && ::isatty(STDERR_FILENO) == 1);
    terminal_ = options.progress == Progress::automatic;
    try {
      collection_ = store_.get_collection(options.collection);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::not_found) throw;
    }
    if (collection_ && options.distance && *options.distance != collection_->config().distance) {
      throw Error(ErrorKind::usage, "--distance " + std::string(vector::to_string(*options.distance)) + ": collection '" +
                                        options.collection + "' exists with distance " +
                                        vector::to_string(collection_->config().distance));
    }
    if (collection_ && options.model && *options.model != collection_->config().embedding_model) {
      throw Error(ErrorKind::usage, "--model " + *options.model + ": collection '" + options.collection +
                                        "' exists with embedding model '" + collection_->config().embedding_model + "'");
    }
  }

  void run(LineReader& input) {
    try {
      read_all(input);
    } catch (...) {
      end_progress_line();
      throw;
    }
    end_progress_line();
  }

 private:
  void end_progress_line() {
    if (show_progress_ && terminal_ && summary_.batches > 0) progress_ << '\n' << std::flush;
  }

  void read_all(LineReader& input) {
    std::string text;
    std::size_t line_number = 0;
    while (input.next(text)) {
      ++line_number;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      pending_.push_back(parse_import_line(text, line_number, where(line_number)));
      if (pending_.size() >= options_.batch_size) commit();
    }
    if (input.failed()) throw Error(ErrorKind::io, "cannot read " + options_.source_name);
    commit();
  }

  std::string where(std::size_t line_number) const {
    return options_.source_name + " line " + std::to_string(line_number);
  }

  std::string range() const {
    const std::size_t first = pending_.front().line_number, last = pending_.back().line_number;
    return first == last ? where(first) : options_.source_name + " lines " + std::to_string(first) + "-" + std::to_string(last);
  }

  void embed_missing() {
    std::vector<std::string> texts;
    std::vector<ImportLine*> targets;
    for (auto& line : pending_) {
      if (line.needs_embedding) {
        texts.push_back(*line.record.document);
        targets.push_back(&line);
      }
    }
    if (texts.empty()) return;
    Embedder& embedder = embedder_();
    if (collection_) require_same_model(collection_->config(), embedder);
    if (options_.model && *options_.model != embedder.model()) {
      throw Error(ErrorKind::usage, "--model " + *options_.model + ": " + range() + " must be embedded, and the " +
                                        embedder.provider() + " provider embeds with '" + embedder.model() + "' (" +
                                        model_setting(embedder) + ")");
    }
    std::vector<std::vector<float>> vectors;
    try {
      vectors = embedder.embed(texts);
    } catch (const Error& e) {
      throw Error(e.kind(), range() + ": embedding " + std::to_string(texts.size()) + " documents with " +
                                embedder.provider() + " model '" + embedder.model() + "' at " + embedder.endpoint() +
                                " failed: " + e.what());
    }
    if (vectors.size() != texts.size()) {
      throw Error(ErrorKind::embedding, range() + ": the embedder returned " + std::to_string(vectors.size()) +
                                            " vectors for " + std::to_string(texts.size()) + " documents");
    }
    for (std::size_t i = 0; i < targets.size(); ++i) targets[i]->record.embedding = std::move(vectors[i]);
    embedded_in_batch_ = texts.size();
    if (!embedded_model_) embedded_model_ = embedder.model();
  }

  void create_collection() {
    vector::CollectionConfig config;
    config.name = options_.collection;
    config.dimension = static_cast<int>(pending_.front().record.embedding.size());
    config.distance = options_.distance.value_or(vector::Distance::cosine);
    if (options_.model) {
      config.embedding_model = *options_.model;
    } else if (embedded_model_) {
      config.embedding_model = *embedded_model_;
    }
    collection_ = store_.create_collection(config);
    summary_.created = true;
  }

  // The store names the record id; this names the line as well.
  void check_dimensions() const {
    const auto expected = static_cast<std::size_t>(collection_->config().dimension);
    for (const auto& line : pending_) {
      if (line.record.embedding.size() != expected) {
        throw Error(ErrorKind::invalid_argument,
                    where(line.line_number) + " (id '" + line.record.id + "'): embedding has dimension " +
                        std::to_string(line.record.embedding.size()) + " but collection '" + options_.collection +
                        "' expects " + std::to_string(expected) + "; nothing of " + range() + " was written");
      }
    }
  }

  void commit() {
    if (pending_.empty()) return;
    embedded_in_batch_ = 0;
    embed_missing();
    const bool creating = !collection_;
    if (creating) create_collection();
    try {
      write_pending();
    } catch (...) {
      // A failed first batch leaves no empty collection behind (the store keeps no records of it).
      if (creating) {
        try {
          store_.delete_collection(options_.collection);
        } catch (const Error&) {
        }
        collection_.reset();
        summary_.created = false;
      }
      throw;
    }
  }

  void write_pending() {
    check_dimensions();
    std::vector<vector::Record> records;
    records.reserve(pending_.size());
    for (auto& line : pending_) records.push_back(std::move(line.record));
    try {
      if (options_.upsert) {
        collection_->upsert(records);
      } else {
        collection_->add(records);
      }
    } catch (const Error& e) {
      throw Error(e.kind(), range() + ": " + e.what());
    }
    summary_.records += records.size();
    summary_.embedded += embedded_in_batch_;
    summary_.batches += 1;
    summary_.dimension = static_cast<std::size_t>(collection_->config().dimension);
    const std::size_t last_line = pending_.back().line_number;
    pending_.clear();
    if (show_progress_) {
      if (terminal_) {
        progress_ << "\rimporting into '" << options_.collection << "': " << summary_.records << " records, "
                  << summary_.batches << " batches" << std::flush;
      } else {
        progress_ << "committed batch " << summary_.batches << " (" << summary_.records << " records, through line "
                  << last_line << ")\n"
                  << std::flush;
      }
    }
  }

  vector::VectorStore& store_;
  const ImportOptions& options_;
  const std::function<Embedder&()>& embedder_;
  ImportSummary& summary_;
  std::ostream& progress_;
  bool show_progress_ = false;
  bool terminal_ = false;
  std::shared_ptr<vector::Collection> collection_;
  std::vector<ImportLine> pending_;
  std::size_t embedded_in_batch_ = 0;
  std::optional<std::string> embedded_model_;
};

}  // namespace

void require_same_model(const vector::CollectionConfig& collection, const Embedder& embedder) {
  const std::string& built_with = collection.embedding_model;
  if (built_with.empty() || built_with == embedder.model()) return;
  throw Error(ErrorKind::invalid_argument,
              "collection '" + collection.name + "' holds vectors of model '" + built_with + "' but the configured " +
                  embedder.provider() + " provider embeds with '" + embedder.model() + "' (" + model_setting(embedder) +
                  "); vectors of different models cannot be compared. Set " + model_setting(embedder) + "=" + built_with +
                  ", or re-embed the collection with the new model: lunadb vectors export --collection " +
                  collection.name + " --no-embeddings | lunadb vectors import - --collection NEW_NAME");
}

bool LineReader::next(std::string& line) {
  if (!ahead_.empty()) {
    line = std::move(ahead_.front());
    ahead_.pop_front();
    buffered_bytes_ -= line.size();
    return true;
  }
  if (exhausted_) return false;
  if (std::getline(input_, line)) return true;
  exhausted_ = true;
  return false;
}

bool LineReader::read_ahead(std::size_t max_lines) {
  std::string line;
  for (std::size_t i = 0; i < max_lines && !exhausted_; ++i) {
    if (!std::getline(input_, line)) {
      exhausted_ = true;
      break;
    }
    buffered_bytes_ += line.size();
    ahead_.push_back(std::move(line));
  }
  return !exhausted_;
}

void run_import(vector::VectorStore& store, const ImportOptions& options, LineReader& input,
                const std::function<Embedder&()>& embedder, ImportSummary& summary, std::ostream& progress) {
  if (options.batch_size == 0) throw Error(ErrorKind::usage, "--batch must be at least 1");
  Importer importer(store, options, embedder, summary, progress);
  importer.run(input);
}

}  // namespace lunadb::cli::vectors
