#pragma once
// The memory engine (docs/memory.md): facts and episodes kept in the relational store, their
// vectors in a VectorStore, found by meaning and by words, forgettable and re-embeddable.
//
// The relational row is the source of truth. Every write (remember, update, supersede, link,
// add_episode, forget) commits the row and an entry of `memory_outbox` in one transaction; the
// entry says "this row changed". process_pending() (and the optional background worker) embeds the
// changed rows in batches through the Embedder and applies them to the collection memory_collections
// records for each kind (luna_facts / luna_episodes until a reindex moves it to the next generation;
// record id = row id), reading each row as it is then, so applying an entry twice or
// after a later change is harmless. An entry is deleted only after its vector change is durable; a
// failed batch stays with a growing backoff. Opening a Memory replays what is pending. Converged
// state: every fact and episode row has exactly one vector, from the collection's recorded model,
// whose metadata mirrors the row (inactive facts keep their vector, with is_active false), and no
// vector lacks its row.
//
// A Memory embeds only into a collection recorded with its embedder's model (or none yet): with
// another model recorded its entries wait, and recall has no vector part, so two models' vectors
// are never mixed or compared; reindex() moves a collection to another model.
//
// Errors: lunadb::Error. invalid_argument for bad input (invalid UTF-8, non-finite numbers),
// not_found for an unknown id where a row is needed (supersede, link), DatabaseError from the
// database. Embedding failures never fail a write: they leave the entry pending.
//
// Thread-safety: a Memory may be used from many threads at once; process_pending() runs one batch
// at a time (callers wait for each other). The Store, VectorStore and Embedder must outlive it.
// Results are plain values (JSON-friendly: numbers, strings, optionals).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::memory {

enum class Kind { fact, episode };
const char* to_string(Kind kind) noexcept;  // "fact" | "episode"

// The collections' base names: generation 1 uses them as they are, a reindex writes generation N
// into "<base>_g<N>" (docs/memory.md, "Reindex"). Which one holds a kind's vectors now is recorded
// in memory_collections; never assume the base name.
inline constexpr const char* kFactsCollection = "luna_facts";
inline constexpr const char* kEpisodesCollection = "luna_episodes";

// The kind whose base collection is `name` (luna_facts / luna_episodes); Error(invalid_argument)
// naming the two for anything else.
Kind kind_of_collection(std::string_view name);

struct MemoryOptions {
  int default_k = 6;                      // MEMORY_RETRIEVAL_COUNT
  double near_duplicate_threshold = 0.92; // cosine similarity at or above which remember() reports a candidate
  std::size_t near_duplicate_limit = 5;
  double half_life_days = 30;             // recency weight halves every this many days
  std::size_t batch_size = 64;            // outbox entries applied per batch (texts per embed call)
  std::chrono::milliseconds retry_backoff{500};      // first wait after a failed batch; doubled per attempt
  std::chrono::milliseconds max_retry_backoff{60000};
  bool start_worker = false;              // run a background thread applying the outbox
  std::chrono::milliseconds worker_poll{1000};       // how often the worker looks without being woken
  bool replay_on_open = true;             // process_pending() once in the constructor (errors kept, not thrown)
  // Makes an embedder for another model than the Memory's own, for reindex(collection, model);
  // unset: reindex can only re-embed with the Memory's model or an embedder given in ReindexOptions.
  std::function<std::unique_ptr<Embedder>(const std::string& model)> embedder_for_model;
};

// MemoryOptions with default_k from the settings (MEMORY_RETRIEVAL_COUNT) and batch_size from
// EMBED_BATCH_SIZE.
MemoryOptions options_from(const Settings& settings);

struct NearDuplicate {
  std::int64_t fact_id = 0;
  std::string content;
  double similarity = 0;  // cosine similarity, 1 = same direction
};

struct RememberResult {
  store::Fact fact;
  bool vector_pending = true;  // false when the vector was applied before remember() returned
  // Active facts of the same category whose vectors are at least near_duplicate_threshold similar,
  // most similar first. Empty when the embedding server could not be reached.
  std::vector<NearDuplicate> near_duplicates;
};

struct RecallOptions {
  std::optional<std::size_t> k;           // default: MemoryOptions::default_k
  std::optional<std::string> category;    // facts only
  std::optional<std::string> memory_type; // facts only
  std::optional<bool> active = true;      // facts only; nullopt: active and inactive
  std::optional<bool> is_private;         // facts only; nullopt: both
  std::optional<Timestamp> created_from;  // inclusive
  std::optional<Timestamp> created_to;    // exclusive
  bool facts = true;
  bool episodes = false;
  std::optional<double> half_life_days;   // default: MemoryOptions::half_life_days
  std::size_t candidates = 0;             // per method before fusion; 0: max(4k, 20)
  bool touch = true;                      // set facts.last_accessed on the returned facts
  // The two methods fused; turning one off gives the other alone (to compare them: bench memory).
  bool use_vectors = true;
  bool use_keywords = true;
};

// Why a result ranked where it did (docs/memory.md, "Scoring").
struct ScoreParts {
  std::optional<std::size_t> vector_rank;   // 1-based; nullopt: not among the vector candidates
  std::optional<double> vector_similarity;  // 1 - cosine distance
  std::optional<std::size_t> keyword_rank;  // 1-based
  std::optional<double> keyword_score;      // the backend's relevance (bm25 negated, ts_rank, MATCH)
  double rrf = 0;                           // sum of 1 / (60 + rank) over the methods that found it
  double importance_weight = 1;
  double confidence_weight = 1;
  double recency_weight = 1;
  double score = 0;                         // rrf * the three weights
};

struct RecallResult {
  Kind kind = Kind::fact;
  std::int64_t id = 0;
  std::string text;  // facts.content or episodes.summary
  std::string category;     // empty for episodes
  std::string memory_type;  // empty for episodes
  double importance = 0.5;
  double confidence = 1;
  bool is_active = true;
  bool is_private = false;
  std::optional<std::int64_t> conversation_id;
  Timestamp created_at{};
  bool has_vector = true;  // false: found by keyword only, its vector not applied yet
  ScoreParts scores;
};

struct ForgetFilter {
  std::optional<std::string> category;
  std::optional<std::string> memory_type;
  std::optional<bool> is_private;
  std::optional<bool> active;
  std::optional<Timestamp> created_before;
};

struct ForgetReceipt {
  std::string what;  // "fact 12", "conversation 3", "filter category=preference"
  std::int64_t facts = 0;
  std::int64_t episodes = 0;
  std::int64_t messages = 0;
  std::int64_t conversations = 0;
  std::int64_t relationships = 0;
  std::int64_t contradiction_notes = 0;
  std::int64_t vectors = 0;  // vectors removed before forget() returned (the rest: by the outbox)
  bool vectors_pending = false;
  Timestamp at{};
};

struct ProcessStats {
  std::size_t applied = 0;   // vectors written (embedded or metadata refreshed)
  std::size_t removed = 0;   // vectors deleted because their row is gone
  std::size_t failed = 0;    // entries left pending after an error
  std::size_t pending = 0;   // entries still in the outbox afterwards
  std::string last_error;    // of the last failed batch
};

// A reindex started and not switched yet (memory_collections.next_*): the next generation's
// collection, the model it is built with, and how far it got.
struct ReindexState {
  std::string collection;
  std::string model;
  std::optional<std::int64_t> after_id;  // every row with id <= after_id is in it; nullopt: none yet
  std::size_t catch_up = 0;              // rows changed during the reindex, still to apply to it
};

// What verify() found for one kind (facts or episodes), against memory_collections' record.
struct VerifyKind {
  Kind kind = Kind::fact;
  std::string collection;               // the collection queries use ("" when none is recorded yet)
  std::string model;                    // the model recorded for it
  std::optional<std::size_t> dimension;
  std::size_t rows = 0;                 // facts / episodes rows
  std::size_t vectors = 0;              // records in the collection
  std::vector<std::int64_t> missing;    // rows without a vector, by id
  std::vector<std::string> orphans;     // vector ids without a row
  std::vector<std::int64_t> wrong_model;  // rows whose vector's metadata names another model
  std::int64_t generation = 0;          // of `collection`; 0 when none is recorded yet
  std::optional<ReindexState> reindex;  // a reindex in progress
};

struct VerifyReport {
  std::vector<VerifyKind> kinds;  // facts, then episodes
  std::size_t pending = 0;        // outbox entries at the time of the check
  bool clean() const;             // nothing missing, orphaned or from another model
};

// The counts `lunadb memory stats` prints.
struct MemoryStats {
  std::size_t facts = 0;
  std::size_t episodes = 0;
  std::size_t pending = 0;  // outbox entries
  std::vector<VerifyKind> collections;  // per kind: collection, model, dimension, vectors (no lists)
};

struct ReindexProgress {
  Kind kind = Kind::fact;
  std::string collection;  // the one being built
  std::string model;
  std::size_t done = 0;    // rows in it so far (resumed runs count the earlier runs' rows)
  std::size_t total = 0;   // rows of the kind
  bool switched = false;   // the last call, right after the switch (the old collection is deleted after it)
};

struct ReindexOptions {
  // The target model's embedder; nullptr: the Memory's own when the model is its model, else one
  // from MemoryOptions::embedder_for_model.
  Embedder* embedder = nullptr;
  std::size_t batch_size = 0;  // rows per embed call; 0: MemoryOptions::batch_size
  // Called after each committed batch and once after the switch, on the calling thread.
  std::function<void(const ReindexProgress&)> progress;
};

struct ReindexResult {
  Kind kind = Kind::fact;
  std::string from_collection;  // "" when nothing was recorded before
  std::string from_model;
  std::string to_collection;
  std::string to_model;
  std::optional<std::size_t> dimension;  // recorded after the switch; nullopt when there were no rows
  bool resumed = false;                  // an interrupted reindex was continued
  std::optional<std::int64_t> resumed_after;  // the row id it continued after
  std::size_t embedded = 0;   // rows embedded by this call in the pass over all rows
  std::size_t caught_up = 0;  // rows re-applied because they changed during the reindex
  std::size_t total = 0;      // rows of the kind when the pass ended
  bool dropped_old = false;   // the previous collection existed and was deleted
};

class Memory {
 public:
  Memory(store::Store& store, vector::VectorStore& vectors, Embedder& embedder, MemoryOptions options = {});
  ~Memory();  // stops the worker; never throws
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;

  // Inserts the fact (id and timestamps filled in; a created_at the caller set is kept, for a
  // memory imported with its history) with its outbox entry, then tries to apply it at once, so
  // near-duplicates can be reported; an embedding failure leaves it pending. With the background
  // worker the vector is applied by the worker instead, in batches, and vector_pending is true.
  RememberResult remember(const store::Fact& fact);
  // Writes every column as FactRepository::update does. False when the row does not exist.
  bool update(const store::Fact& fact);
  // Inserts `replacement` and marks `old_id` inactive with superseded_by = the new id, in one
  // transaction. Error(not_found) when old_id does not exist.
  RememberResult supersede(std::int64_t old_id, const store::Fact& replacement);
  // Creates or updates the edge a -> b. Error(not_found) when either fact is missing.
  store::FactRelationship link(std::int64_t fact_a, std::int64_t fact_b, const std::string& relationship,
                               double confidence = 0.8, std::optional<std::string> note = std::nullopt);
  // Creates or replaces the conversation's episode (EpisodeRepository::upsert) with its entry.
  store::Episode add_episode(const store::Episode& episode);

  std::vector<RecallResult> recall(std::string_view query, const RecallOptions& options = {});

  ForgetReceipt forget_fact(std::int64_t fact_id);
  // The conversation, its messages, its episode, the facts whose source it is (with their links
  // and contradiction notes) and all their vectors.
  ForgetReceipt forget_conversation(std::int64_t conversation_id);
  ForgetReceipt forget(const ForgetFilter& filter);

  // Applies due outbox entries (all of them, ignoring backoff, when `ignore_backoff`) until none
  // is left or a batch fails. Never throws for embedding or vector errors: they are counted.
  ProcessStats process_pending(bool ignore_backoff = true);
  // process_pending() until the outbox is empty; Error(embedding) with the last error when it
  // cannot empty it.
  void flush();
  std::size_t pending_count();

  MemoryStats stats();

  // Compares every fact and episode row with the vectors of its kind's collection: rows written
  // behind the Memory's back (without outbox entries), vectors whose row is gone, vectors made by
  // another model than the one memory_collections records. Read-only; lists are sorted.
  VerifyReport verify();
  // Fixes what verify() finds: deletes orphan vectors and wrong-model vectors, writes outbox
  // entries for the missing and wrong-model rows, applies the outbox, and returns a fresh
  // verify(). Error(usage) when the embedder's model is not the recorded one (repairing would
  // write more wrong-model vectors: reindex instead); Error(embedding) when the outbox cannot be
  // emptied.
  VerifyReport repair();

  // Rebuilds the vectors of `collection` (a base name, luna_facts / luna_episodes; nullopt: both)
  // from the rows, with `model` (nullopt: the model of a reindex in progress, else the Memory's).
  // Writes a new generation collection in batches, recording after each one how far it got, so an
  // interrupted reindex resumes there when called again; then applies the rows that changed
  // meanwhile, and switches memory_collections to the new collection, model and dimension in one
  // transaction, and deletes the old collection. Until the switch every query uses the old
  // collection only. Error(usage) when another model's reindex is in progress or no embedder for
  // `model` is at hand; embedding and vector errors propagate and leave the reindex resumable.
  // One reindex at a time per Memory (callers wait); writes and recall go on meanwhile.
  std::vector<ReindexResult> reindex(std::optional<std::string> collection = std::nullopt,
                                     std::optional<std::string> model = std::nullopt,
                                     const ReindexOptions& options = {});

  // The collection that now holds the vectors known by a base name (luna_facts, luna_episodes),
  // as memory_collections records it: "luna_facts_g2" after one reindex, the base name before any;
  // nullopt for any other name. For programs that know Luna's collections by their base names (the
  // Chroma API of `lunadb serve`). Reads the row on every call and takes none of the Memory's locks.
  std::optional<std::string> current_collection_for(std::string_view base_name);

  // Stats of the last replay in the constructor.
  const ProcessStats& replay_stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lunadb::memory
