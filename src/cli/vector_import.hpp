#pragma once
// `lunadb vectors import`: JSON Lines into a collection, committed in batches so that an
// interrupted import keeps every whole batch it committed (and `--upsert` resumes it).

#include <cstddef>
#include <deque>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>

#include "lunadb/embed.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli::vectors {

enum class Progress { automatic, always, never };

struct ImportOptions {
  std::string collection;
  std::string source_name;                  // for messages: the file name or "stdin"
  std::size_t batch_size = 500;             // records per commit
  bool upsert = false;                      // replace existing ids instead of failing on them
  std::optional<vector::Distance> distance;  // for a new collection (default cosine); checked on an existing one
  std::optional<std::string> model;          // declared embedding model for a new collection
  Progress progress = Progress::automatic;   // automatic: only when stderr is a terminal
};

// Lines of the input, with lines read ahead (while waiting for the store's lock) served first.
class LineReader {
 public:
  explicit LineReader(std::istream& input) : input_(input) {}
  bool next(std::string& line);  // false at the end of the input
  // Buffers up to `max_lines` more lines; false once the input is exhausted.
  bool read_ahead(std::size_t max_lines);
  std::size_t buffered_bytes() const { return buffered_bytes_; }
  bool failed() const { return input_.bad(); }

 private:
  std::istream& input_;
  std::deque<std::string> ahead_;
  std::size_t buffered_bytes_ = 0;
  bool exhausted_ = false;
};

struct ImportSummary {
  std::size_t records = 0;   // committed
  std::size_t batches = 0;   // committed
  std::size_t embedded = 0;  // of `records`, embedded through the provider
  bool created = false;      // the collection was created by this import
  std::size_t dimension = 0;
};

// Reads `input` to the end. Throws on the first bad line or failed batch; `summary` then tells
// what was committed before. `embedder` is called at most once, on the first line without an
// embedding (so files with vectors need no embedding settings).
void run_import(vector::VectorStore& store, const ImportOptions& options, LineReader& input,
                const std::function<Embedder&()>& embedder, ImportSummary& summary, std::ostream& progress);

// The refusal when a collection's vectors come from another model than the provider's.
// Does nothing when the collection declares no model.
void require_same_model(const vector::CollectionConfig& collection, const Embedder& embedder);

}  // namespace lunadb::cli::vectors
