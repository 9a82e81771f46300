#include "vector/collection.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "lunadb/error.hpp"
#include "sql/sqlite_driver.hpp"
#include "vector/distance.hpp"
#include "vector/filter.hpp"
#include "vector/snapshot.hpp"
#include "vector/validation.hpp"

namespace lunadb::vector::detail {

namespace {


// Rows of embeddings handed to the graph at a time while rebuilding it from the records.
constexpr std::size_t kRebuildChunk = 4096;

}  // namespace

CollectionImpl::CollectionImpl(std::shared_ptr<StoreCore> core, std::int64_t collection_id, CollectionConfig config)
    : core_(std::move(core)),
      collection_id_(collection_id),
      config_(std::move(config)),
      dim_(static_cast<std::size_t>(config_.dimension)),
      stride_(element_floats(config_.distance, dim_)),
      distance_fn_(element_distance(config_.distance)),
      tuner_(SearchTuner::Settings{core_->options.target_recall, core_->options.tuning_samples,
                                   static_cast<std::size_t>(config_.index.ef_search)}) {
  std::vector<StoredRecord> records;
  core_->db->load_records(collection_id_, [&](StoredRecord&& r) { records.push_back(std::move(r)); });
  load(std::move(records));
}

std::filesystem::path CollectionImpl::index_directory() const {
  return core_->directory / "index" / std::to_string(collection_id_);
}

void CollectionImpl::check_usable() const {
  if (!core_->open) throw Error(ErrorKind::usage, "collection '" + config_.name + "': the vector store was closed");
  if (dropped_) throw Error(ErrorKind::usage, "collection '" + config_.name + "' was deleted");
  if (broken_) {
    throw Error(ErrorKind::internal, "collection '" + config_.name + "': its HNSW index failed to take new vectors; the records are " +
                                         "durable: reopen the vector store to rebuild the index from them");
  }
}

// ---------------------------------------------------------------------------------------------
// Opening: records first, then the snapshot if it is sound, then catch up with the records.

void CollectionImpl::load(std::vector<StoredRecord> records) {
  for (const auto& r : records) last_seq_ = std::max(last_seq_, r.seq);
  const bool wants_index = records.size() >= core_->options.flat_threshold;
  if (wants_index && std::filesystem::exists(index_directory() / kMetaFileName)) {
    try {
      if (load_snapshot_into_slots(records)) return;
    } catch (const std::exception& e) {
      recovery_ = std::string("index snapshot rebuilt from the records: ") + e.what();
      slots_.clear();
      elements_.clear();
      by_id_.clear();
      free_slots_.clear();
      live_ = 0;
      index_.reset();
      generation_ = 0;
      snapshot_seq_ = 0;
      // `records` may have been partly moved from: read them again.
      records.clear();
      core_->db->load_records(collection_id_, [&](StoredRecord&& r) { records.push_back(std::move(r)); });
    }
  }
  for (auto& r : records) place(take_slot(), std::move(r));
  records.clear();
  records.shrink_to_fit();
  if (wants_index && recovery_.empty()) recovery_ = "no index snapshot: built from the records";
  load_all_elements();
}

// Uses the snapshot when it checks out: records keep the slot (label) it gave them, so its graph
// is reused, and only what changed since is read from the records database and indexed.
bool CollectionImpl::load_snapshot_into_slots(std::vector<StoredRecord>& records) {
  SnapshotMeta expected;
  expected.collection_id = collection_id_;
  expected.dimension = config_.dimension;
  expected.distance = config_.distance;
  expected.m = config_.index.m;
  LoadedSnapshot snapshot = load_snapshot(index_directory(), expected, records.size() + 16);
  if (snapshot.meta.last_seq > core_->db->last_seq()) {
    throw Error(ErrorKind::corrupt, "the snapshot covers sequence " + std::to_string(snapshot.meta.last_seq) +
                                        " but the records end at " + std::to_string(core_->db->last_seq()) +
                                        " (records restored from an older copy?)");
  }
  HnswIndex& graph = *snapshot.index;
  std::vector<std::uint32_t> snapshot_labels = graph.labels();
  std::uint32_t max_label = 0;
  for (auto label : snapshot_labels) max_label = std::max(max_label, label + 1);
  // label -> index of its snapshot entry (or none)
  constexpr std::uint32_t kNoEntry = 0xFFFFFFFFu;
  std::vector<std::uint32_t> entry_of_label(max_label, kNoEntry);
  {
    std::unordered_set<std::string_view> ids_seen;
    ids_seen.reserve(snapshot.meta.entries.size());
    for (std::size_t i = 0; i < snapshot.meta.entries.size(); ++i) {
      const auto& e = snapshot.meta.entries[i];
      if (e.label >= max_label || entry_of_label[e.label] != kNoEntry || !ids_seen.insert(e.id).second) {
        throw Error(ErrorKind::corrupt, "label table does not match the index");
      }
      entry_of_label[e.label] = static_cast<std::uint32_t>(i);
    }
  }
  std::unordered_map<std::string_view, std::size_t> record_by_id;
  record_by_id.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) record_by_id.emplace(records[i].id, i);
  slots_.resize(max_label);
  std::vector<char> placed(records.size(), 0);
  // A slot whose record is the very version the graph holds: its node can stay.
  std::vector<char> current(max_label, 0);
  for (const auto& e : snapshot.meta.entries) {
    auto it = record_by_id.find(e.id);
    if (it == record_by_id.end()) continue;
    StoredRecord& r = records[it->second];
    current[e.label] = r.seq == e.seq && graph.contains_live(e.label);
    place(e.label, std::move(r));
    placed[it->second] = 1;
  }
  record_by_id.clear();
  for (std::uint32_t s = max_label; s-- > 0;) {
    if (!slots_[s].live) free_slots_.push_back(s);
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!placed[i]) place(take_slot(), std::move(records[i]));
  }
  records.clear();
  records.shrink_to_fit();
  // Catch up: nodes whose record changed or vanished leave the graph; newer records join it.
  std::size_t dropped = 0;
  for (auto label : snapshot_labels) {
    if (!current[label] && graph.contains_live(label)) {
      graph.mark_deleted(label);
      ++dropped;
    }
  }
  std::vector<std::uint32_t> stale;
  std::vector<std::int64_t> stale_rids;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live && (s >= current.size() || !current[s])) {
      stale.push_back(s);
      stale_rids.push_back(slots_[s].rid);
    }
  }
  if (!stale.empty()) {
    std::unordered_map<std::int64_t, std::uint32_t> slot_of_rid;
    for (auto s : stale) slot_of_rid.emplace(slots_[s].rid, s);
    std::vector<float> buffer(stale.size() * stride_);
    std::vector<std::pair<const float*, std::uint32_t>> items;
    items.reserve(stale.size());
    core_->db->read_embeddings(stale_rids, config_.dimension, [&](std::int64_t rid, const float* v) {
      float* element = buffer.data() + items.size() * stride_;
      make_element(config_.distance, v, dim_, element);
      items.emplace_back(element, slot_of_rid.at(rid));
    });
    if (items.size() != stale.size()) {
      throw Error(ErrorKind::corrupt, "vector records database " + core_->db->file().string() + ": " +
                                          std::to_string(stale.size() - items.size()) + " records have no embedding");
    }
    graph.add_batch(items, core_->index_threads);
  }
  index_ = std::move(snapshot.index);
  generation_ = snapshot.meta.generation;
  snapshot_seq_ = snapshot.meta.last_seq;
  changes_since_snapshot_ = stale.size() + dropped;
  maybe_compact();
  return true;
}

void CollectionImpl::load_all_elements() {
  // (rid, slot) sorted by rid, to find the slot of each embedding row without a hash map.
  std::vector<std::pair<std::int64_t, std::uint32_t>> slot_of_rid;
  slot_of_rid.reserve(live_);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live) slot_of_rid.emplace_back(slots_[s].rid, s);
  }
  std::sort(slot_of_rid.begin(), slot_of_rid.end());
  auto slot_for = [&](std::int64_t rid) -> std::uint32_t {
    auto it = std::lower_bound(slot_of_rid.begin(), slot_of_rid.end(), std::make_pair(rid, std::uint32_t{0}));
    if (it == slot_of_rid.end() || it->first != rid) {
      throw Error(ErrorKind::corrupt, "vector records database " + core_->db->file().string() +
                                          ": an embedding row without its record (" + std::to_string(rid) + ")");
    }
    return it->second;
  };
  std::size_t loaded = 0;
  if (live_ < core_->options.flat_threshold) {
    elements_.assign(slots_.size() * stride_, 0.0f);
    core_->db->load_embeddings(collection_id_, config_.dimension, [&](std::int64_t rid, const float* v) {
      make_element(config_.distance, v, dim_, elements_.data() + std::size_t{slot_for(rid)} * stride_);
      ++loaded;
    });
  } else {
    index_ = std::make_unique<HnswIndex>(config_.distance, config_.dimension, config_.index.m, config_.index.ef_construction,
                                         std::max<std::size_t>(slots_.size(), 16));
    std::vector<float> buffer(kRebuildChunk * stride_);
    std::vector<std::pair<const float*, std::uint32_t>> items;
    items.reserve(kRebuildChunk);
    auto drain = [&] {
      index_->add_batch(items, core_->index_threads);
      items.clear();
    };
    core_->db->load_embeddings(collection_id_, config_.dimension, [&](std::int64_t rid, const float* v) {
      float* element = buffer.data() + items.size() * stride_;
      make_element(config_.distance, v, dim_, element);
      items.emplace_back(element, slot_for(rid));
      ++loaded;
      if (items.size() == kRebuildChunk) drain();
    });
    drain();
    changes_since_snapshot_ = std::max<std::size_t>(live_, 1);
  }
  if (loaded != live_) {
    throw Error(ErrorKind::corrupt, "vector records database " + core_->db->file().string() + ": " +
                                        std::to_string(live_ - std::min(loaded, live_)) + " records have no embedding");
  }
}

std::uint32_t CollectionImpl::take_slot() {
  if (!free_slots_.empty()) {
    auto s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  if (slots_.size() >= std::numeric_limits<std::uint32_t>::max()) throw Error(ErrorKind::invalid_argument, "collection is full");
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void CollectionImpl::place(std::uint32_t slot, StoredRecord&& record) {
  if (slot >= slots_.size()) slots_.resize(std::size_t{slot} + 1);
  Slot& target = slots_[slot];
  if (!target.live) ++live_;
  if (target.live && target.id != record.id) by_id_.erase(target.id);
  target.id = std::move(record.id);
  target.rid = record.rid;
  target.seq = record.seq;
  target.added_seq = record.added_seq;
  target.document = std::move(record.document);
  target.metadata = std::move(record.metadata);
  target.live = true;
  by_id_[target.id] = slot;
}

// A new graph from the elements held now (elements_ or the old graph), which are then dropped.
void CollectionImpl::build_index() {
  auto graph = std::make_unique<HnswIndex>(config_.distance, config_.dimension, config_.index.m,
                                           config_.index.ef_construction, std::max<std::size_t>(slots_.size(), 16));
  std::vector<std::pair<const float*, std::uint32_t>> items;
  items.reserve(live_);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live) items.emplace_back(element_of(s), s);
  }
  graph->add_batch(items, core_->index_threads);
  index_ = std::move(graph);
  elements_.clear();
  elements_.shrink_to_fit();
  changes_since_snapshot_ = std::max<std::size_t>(items.size(), 1);
}

// Deleted nodes still route searches in hnswlib; once they dominate, recall and speed suffer.
void CollectionImpl::maybe_compact() {
  if (index_ && index_->deleted_count() > std::max(core_->options.flat_threshold, live_)) build_index();
}

// ---------------------------------------------------------------------------------------------
// Writes: validate everything, commit to SQLite, then apply to memory.

std::vector<StoredRecord> CollectionImpl::prepare_puts(const std::vector<Record>& records, bool upsert) const {
  const char* op = upsert ? "upsert" : "add";
  validate_records(config_, records, op);
  std::vector<StoredRecord> puts;
  puts.reserve(records.size());
  for (const Record& r : records) {
    StoredRecord p;
    p.id = r.id;
    p.embedding = r.embedding;
    auto existing = by_id_.find(r.id);
    if (existing != by_id_.end()) {
      if (!upsert) {
        throw Error(ErrorKind::constraint, id_exists_message(config_, op, r.id));
      }
      const Slot& old = slots_[existing->second];
      p.added_seq = old.added_seq;
      p.document = r.document ? r.document : old.document;
      p.metadata = merge_metadata(old.metadata, r.metadata);
    } else {
      p.document = r.document;
      p.metadata = normalise_metadata(r.metadata);
    }
    puts.push_back(std::move(p));
  }
  return puts;
}

void CollectionImpl::add(const std::vector<Record>& records) {
  check_usable();
  std::lock_guard db_lock(core_->db_mutex);
  check_usable();
  write(prepare_puts(records, false), {});
}

void CollectionImpl::upsert(const std::vector<Record>& records) {
  check_usable();
  std::lock_guard db_lock(core_->db_mutex);
  check_usable();
  write(prepare_puts(records, true), {});
}

std::size_t CollectionImpl::update(const std::vector<RecordUpdate>& updates) {
  check_usable();
  std::lock_guard db_lock(core_->db_mutex);
  check_usable();
  validate_updates(config_, updates);
  std::vector<StoredRecord> puts;
  for (const RecordUpdate& u : updates) {
    auto existing = by_id_.find(u.id);
    if (existing == by_id_.end()) continue;  // as in ChromaDB: unknown ids are skipped
    const Slot& old = slots_[existing->second];
    StoredRecord p;
    p.id = u.id;
    p.added_seq = old.added_seq;
    if (u.embedding) p.embedding = *u.embedding;  // otherwise the stored one stays
    p.reindex = u.embedding.has_value();
    p.document = u.document ? u.document : old.document;
    p.metadata = merge_metadata(old.metadata, u.metadata);
    puts.push_back(std::move(p));
  }
  std::size_t changed = puts.size();
  if (changed > 0) write(std::move(puts), {});
  return changed;
}

std::size_t CollectionImpl::remove(const DeleteRequest& request) {
  check_usable();
  validate_delete(config_, request);
  Filter filter = Filter::compile(request.where, request.where_document);
  std::lock_guard db_lock(core_->db_mutex);
  check_usable();
  std::vector<std::string> deletes;
  auto consider = [&](std::uint32_t s) {
    if (slots_[s].live && filter.matches(slots_[s].metadata, slots_[s].document)) deletes.push_back(slots_[s].id);
  };
  if (!request.ids.empty()) {
    std::unordered_set<std::string_view> seen;
    for (const auto& id : request.ids) {
      auto it = by_id_.find(id);
      if (it != by_id_.end() && seen.insert(id).second) consider(it->second);
    }
  } else {
    for (std::uint32_t s = 0; s < slots_.size(); ++s) consider(s);
  }
  std::size_t removed = deletes.size();
  if (removed > 0) write({}, std::move(deletes));
  return removed;
}

// Called with db_mutex held and everything validated.
void CollectionImpl::write(std::vector<StoredRecord> puts, std::vector<std::string> deletes) {
  if (puts.empty() && deletes.empty()) return;
  std::int64_t seq = core_->db->last_seq();
  for (auto& p : puts) {
    p.seq = ++seq;
    if (p.added_seq == 0) p.added_seq = p.seq;
  }
  seq += static_cast<std::int64_t>(deletes.size());  // a delete is a change the index must catch up with
  std::vector<StoredRecord*> put_rows;
  put_rows.reserve(puts.size());
  for (auto& p : puts) put_rows.push_back(&p);
  core_->db->write(collection_id_, put_rows, deletes, seq);  // durable from here on

  // The stored form of each new vector, prepared before readers are shut out.
  std::vector<float> elements;
  std::size_t reindexed = 0;
  for (const auto& p : puts) reindexed += p.reindex ? 1 : 0;
  elements.resize(reindexed * stride_);
  {
    std::size_t i = 0;
    for (const auto& p : puts) {
      if (p.reindex) make_element(config_.distance, p.embedding.data(), dim_, elements.data() + (i++) * stride_);
    }
  }
  {
    std::unique_lock state(state_mutex_);
    last_seq_ = seq;
    for (const auto& id : deletes) {
      auto it = by_id_.find(id);
      if (it == by_id_.end()) continue;
      std::uint32_t s = it->second;
      if (index_) index_->mark_deleted(s);
      slots_[s] = Slot{};
      by_id_.erase(it);
      free_slots_.push_back(s);
      --live_;
    }
    std::vector<std::pair<const float*, std::uint32_t>> items;
    items.reserve(reindexed);
    std::size_t i = 0;
    for (auto& p : puts) {
      auto it = by_id_.find(p.id);
      std::uint32_t s = it != by_id_.end() ? it->second : take_slot();
      const bool reindex = p.reindex;
      place(s, std::move(p));
      if (!reindex) continue;
      const float* element = elements.data() + (i++) * stride_;
      if (index_) {
        items.emplace_back(element, s);
      } else {
        if (elements_.size() < slots_.size() * stride_) elements_.resize(slots_.size() * stride_);
        std::copy(element, element + stride_, elements_.begin() + static_cast<std::ptrdiff_t>(std::size_t{s} * stride_));
      }
    }
    if (index_) {
      try {
        index_->add_batch(items, core_->index_threads);
      } catch (...) {
        // Some of these records now have no vector in memory (the graph is its only copy):
        // refuse further use rather than read a missing one; reopening rebuilds from the records.
        broken_ = true;
        throw;
      }
      maybe_compact();
    } else if (live_ >= core_->options.flat_threshold) {
      build_index();
    }
    if (index_) changes_since_snapshot_ += puts.size() + deletes.size();
  }
  // Each snapshot rewrites the whole graph: a fixed interval would make ingest quadratic
  // (1M vectors in steps of 20000 wrote ~40 GB), so the interval grows with the collection.
  if (index_ && changes_since_snapshot_ >= std::max(core_->options.snapshot_every, live_ / 4)) {
    try {
      save_snapshot();
    } catch (const Error&) {
      // The write itself is durable; a failed snapshot only means a longer catch-up on open.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

void CollectionImpl::save_snapshot() {
  std::shared_lock state(state_mutex_);  // writers are excluded by db_mutex; readers may go on
  if (!index_) return;
  SnapshotMeta meta;
  meta.collection_id = collection_id_;
  meta.dimension = config_.dimension;
  meta.distance = config_.distance;
  meta.m = config_.index.m;
  meta.last_seq = last_seq_;
  meta.generation = generation_ + 1;
  meta.entries.reserve(live_);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live) meta.entries.push_back({s, slots_[s].seq, slots_[s].id});
  }
  write_snapshot(index_directory(), *index_, meta);
  state.unlock();
  std::unique_lock exclusive(state_mutex_);
  generation_ = meta.generation;
  snapshot_seq_ = meta.last_seq;
  changes_since_snapshot_ = 0;
}

void CollectionImpl::save_snapshot_if_dirty() noexcept {
  try {
    if (index_ && changes_since_snapshot_ > 0 && !dropped_) save_snapshot();
  } catch (...) {
    // Called from destructors: the records are durable, the next open rebuilds the index.
  }
}

void CollectionImpl::flush() {
  check_usable();
  std::lock_guard db_lock(core_->db_mutex);
  check_usable();
  if (index_ && changes_since_snapshot_ > 0) save_snapshot();
}

// ---------------------------------------------------------------------------------------------
// Reads

GetResult CollectionImpl::get(const GetRequest& request) const {
  check_usable();
  Filter filter = Filter::compile(request.where, request.where_document);
  std::shared_lock state(state_mutex_);
  check_usable();  // again, now that no write can be half-applied
  std::vector<std::uint32_t> matched;
  auto consider = [&](std::uint32_t s) {
    if (slots_[s].live && filter.matches(slots_[s].metadata, slots_[s].document)) matched.push_back(s);
  };
  if (!request.ids.empty()) {
    std::unordered_set<std::uint32_t> seen;
    for (const auto& id : request.ids) {
      auto it = by_id_.find(id);
      if (it != by_id_.end() && seen.insert(it->second).second) consider(it->second);
    }
  } else {
    for (std::uint32_t s = 0; s < slots_.size(); ++s) consider(s);
  }
  std::sort(matched.begin(), matched.end(),
            [&](std::uint32_t a, std::uint32_t b) { return slots_[a].added_seq < slots_[b].added_seq; });
  std::size_t begin = std::min(request.offset, matched.size());
  std::size_t end = request.limit ? std::min(matched.size(), begin + *request.limit) : matched.size();
  GetResult result;
  for (std::size_t i = begin; i < end; ++i) {
    const Slot& slot = slots_[matched[i]];
    result.ids.push_back(slot.id);
    if (request.include & include_embeddings) result.embeddings.emplace_back(element_of(matched[i]), element_of(matched[i]) + dim_);
    if (request.include & include_documents) result.documents.push_back(slot.document);
    if (request.include & include_metadatas) result.metadatas.push_back(slot.metadata);
  }
  return result;
}

std::vector<std::pair<float, std::uint32_t>> CollectionImpl::flat_search(const std::vector<float>& query, std::size_t k,
                                                                         const std::vector<std::uint32_t>* allowed) const {
  std::priority_queue<std::pair<float, std::uint32_t>> best;  // max-heap: the worst kept on top
  auto offer = [&](std::uint32_t s) {
    float d = distance_to(query, s);
    if (best.size() < k) {
      best.emplace(d, s);
    } else if (std::make_pair(d, s) < best.top()) {
      best.pop();
      best.emplace(d, s);
    }
  };
  if (allowed) {
    for (auto s : *allowed) offer(s);
  } else {
    for (std::uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].live) offer(s);
    }
  }
  std::vector<std::pair<float, std::uint32_t>> out(best.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = best.top();
    best.pop();
  }
  return out;
}

std::vector<std::pair<float, std::uint32_t>> CollectionImpl::search_one(const std::vector<float>& query, std::size_t k,
                                                                        std::size_t ef_base,
                                                                        const std::vector<std::uint32_t>* allowed,
                                                                        const std::vector<char>* allowed_mask) const {
  const std::size_t threshold = core_->options.flat_threshold;
  const std::size_t candidates = allowed ? allowed->size() : live_;
  if (ef_base == 0 || !graph_searchable() || candidates <= threshold) return flat_search(query, k, allowed);
  // hnswlib 0.6.2 has no filter hook: over-fetch in proportion to the filter's selectivity, and
  // widen the candidate list likewise, so that as many *matching* candidates are weighed as an
  // unfiltered search weighs candidates.
  std::size_t fetch = k;
  if (allowed) {
    const double widen = double(live_) / double(candidates);
    fetch = static_cast<std::size_t>(std::ceil(double(k) * widen * 2.0));
    ef_base = std::min<std::size_t>(static_cast<std::size_t>(std::ceil(double(ef_base) * widen)), std::max(live_, ef_base));
  }
  const std::size_t wanted = std::min(k, candidates);
  for (;;) {
    auto found = index_->search(query.data(), fetch, std::max(ef_base, fetch));
    std::vector<std::pair<float, std::uint32_t>> out;
    for (const auto& hit : found) {
      if (hit.second >= slots_.size() || !slots_[hit.second].live) continue;
      if (allowed_mask && !(*allowed_mask)[hit.second]) continue;
      out.push_back(hit);
      if (out.size() == k) break;
    }
    if (out.size() >= wanted) return out;
    if (fetch >= live_ / 2) return flat_search(query, k, allowed);  // graph could not deliver: be exact
    fetch *= 4;
  }
}

std::optional<double> CollectionImpl::estimate_broad_filter(const Filter& filter) const {
  // Evenly spaced slots; a filter that passes these but few others is caught by the fallback in
  // search_broad_filter, so a skewed sample costs time, never results.
  const std::size_t step = std::max<std::size_t>(1, slots_.size() / kBroadFilterSample);
  std::size_t sampled = 0;
  std::size_t passed = 0;
  for (std::size_t s = 0; s < slots_.size(); s += step) {
    if (!slots_[s].live) continue;
    ++sampled;
    if (filter.matches(slots_[s].metadata, slots_[s].document)) ++passed;
  }
  if (sampled < kBroadFilterSample / 2) return std::nullopt;
  const double fraction = double(passed) / double(sampled);
  if (fraction < kBroadFilterMinimumFraction) return std::nullopt;
  return fraction;
}

std::optional<std::vector<std::pair<float, std::uint32_t>>> CollectionImpl::search_broad_filter(
    const std::vector<float>& query, std::size_t k, std::size_t ef_base, const Filter& filter, double fraction) const {
  // Verdicts by slot, kept across the widening rounds (which return the earlier hits again): as
  // many as hits were looked at, not one per slot of the collection.
  std::unordered_map<std::uint32_t, bool> verdict;
  auto passes = [&](std::uint32_t s) {
    const auto [it, fresh] = verdict.try_emplace(s, false);
    if (fresh) it->second = filter.matches(slots_[s].metadata, slots_[s].document);
    return it->second;
  };
  // The same widening as search_one() applies for an exactly counted filter.
  const double widen = 1.0 / fraction;
  std::size_t fetch = static_cast<std::size_t>(std::ceil(double(k) * widen * 2.0));
  ef_base = std::min<std::size_t>(static_cast<std::size_t>(std::ceil(double(ef_base) * widen)), std::max(live_, ef_base));
  for (;;) {
    auto found = index_->search(query.data(), fetch, std::max(ef_base, fetch));
    std::vector<std::pair<float, std::uint32_t>> out;
    for (const auto& hit : found) {
      if (hit.second >= slots_.size() || !slots_[hit.second].live || !passes(hit.second)) continue;
      out.push_back(hit);
      if (out.size() == k) return out;
    }
    if (fetch >= live_ / 2) return std::nullopt;
    fetch *= 4;
  }
}

std::vector<std::pair<float, std::uint32_t>> CollectionImpl::sample_search(const std::vector<float>& query, std::size_t k,
                                                                           const SearchTuner::Plan& plan) const {
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); };
  SearchTuner::Sample sample;
  const auto scan_start = Clock::now();
  auto exact = flat_search(query, k, nullptr);
  sample.exact_seconds = seconds_since(scan_start);
  std::vector<std::uint32_t> truth;
  for (const auto& hit : exact) truth.push_back(hit.second);
  std::sort(truth.begin(), truth.end());
  for (std::size_t ef : plan.ladder) {
    const auto start = Clock::now();
    auto found = search_one(query, k, ef, nullptr, nullptr);
    const double took = seconds_since(start);
    std::size_t hits = 0;
    for (const auto& hit : found) hits += std::binary_search(truth.begin(), truth.end(), hit.second) ? 1 : 0;
    const double recall = truth.empty() ? 1.0 : double(hits) / double(truth.size());
    sample.recall.push_back(recall);
    sample.seconds.push_back(took);
    if (hits == truth.size()) {
      sample.stopped_on_full_recall = true;
      break;
    }
    if (took >= sample.exact_seconds) break;  // higher rungs only cost more
  }
  tuner_.record(plan, sample);
  return exact;  // measured anyway, and right
}

std::vector<Matches> CollectionImpl::query(const QueryRequest& request) const {
  check_usable();
  validate_query(config_, request);
  std::vector<std::vector<float>> queries;
  for (const auto& e : request.embeddings) {
    std::vector<float> element(stride_);
    make_element(config_.distance, e.data(), dim_, element.data());
    queries.push_back(std::move(element));
  }
  Filter filter = Filter::compile(request.where, request.where_document);

  std::shared_lock state(state_mutex_);
  check_usable();  // again, now that no write can be half-applied
  // Search effort: what the caller asked for, else the tuner's plan (search_tuner.hpp).
  const std::size_t k = request.n_results;
  std::optional<SearchTuner::Plan> plan;
  std::size_t ef_base = 0;  // 0: exact scan
  if (request.exact) {
    ef_base = 0;
  } else if (request.ef_search) {
    ef_base = std::max<std::size_t>({*request.ef_search, k, 1});
  } else if (graph_searchable()) {
    plan = tuner_.plan(live_, k);
    ef_base = plan->mode == SearchTuner::Mode::exact ? 0 : plan->ef;
  }
  if (plan && plan->mode == SearchTuner::Mode::sampling && (!filter.empty() || !request.ids.empty())) {
    // Filtered queries are not samples: their cost depends on the filter, not on the graph.
    ef_base = std::max(plan->ladder.front(), 2 * k);
  }
  const bool restricted = !filter.empty() || !request.ids.empty();
  // A filter most records pass (the memory engine's is_active = true, say) is cheaper to check on
  // the graph's hits than on every record before the search: estimate its share on a sample.
  std::optional<double> broad_fraction;
  if (restricted && request.ids.empty() && ef_base != 0 && graph_searchable() && live_ >= kBroadFilterMinimumRecords)
    broad_fraction = estimate_broad_filter(filter);

  std::vector<std::uint32_t> allowed;
  std::vector<char> mask;
  bool allowed_computed = false;
  auto compute_allowed = [&] {
    if (allowed_computed) return;
    allowed_computed = true;
    mask.assign(slots_.size(), 0);
    auto consider = [&](std::uint32_t s) {
      if (slots_[s].live && !mask[s] && filter.matches(slots_[s].metadata, slots_[s].document)) {
        mask[s] = 1;
        allowed.push_back(s);
      }
    };
    if (!request.ids.empty()) {
      for (const auto& id : request.ids) {
        auto it = by_id_.find(id);
        if (it != by_id_.end()) consider(it->second);
      }
    } else {
      for (std::uint32_t s = 0; s < slots_.size(); ++s) consider(s);
    }
  };
  if (restricted && !broad_fraction) compute_allowed();
  std::vector<Matches> results;
  results.reserve(queries.size());
  for (const auto& q : queries) {
    Matches m;
    std::optional<std::vector<std::pair<float, std::uint32_t>>> broad_hits;
    if (broad_fraction && !allowed_computed) broad_hits = search_broad_filter(q, k, ef_base, filter, *broad_fraction);
    if (restricted && !broad_hits) compute_allowed();
    if (broad_hits || !restricted || !allowed.empty()) {
      std::vector<std::pair<float, std::uint32_t>> hits;
      if (broad_hits) {
        hits = std::move(*broad_hits);
      } else if (!restricted && plan && plan->mode == SearchTuner::Mode::sampling) {
        hits = sample_search(q, k, *plan);
      } else {
        hits = search_one(q, k, ef_base, restricted ? &allowed : nullptr, restricted ? &mask : nullptr);
      }
      for (const auto& [distance, s] : hits) {
        m.ids.push_back(slots_[s].id);
        if (request.include & include_distances) m.distances.push_back(distance);
        if (request.include & include_embeddings) m.embeddings.emplace_back(element_of(s), element_of(s) + dim_);
        if (request.include & include_documents) m.documents.push_back(slots_[s].document);
        if (request.include & include_metadatas) m.metadatas.push_back(slots_[s].metadata);
      }
    }
    results.push_back(std::move(m));
  }
  return results;
}

std::size_t CollectionImpl::count() const {
  check_usable();
  std::shared_lock state(state_mutex_);
  return live_;
}

CollectionStats CollectionImpl::stats() const {
  check_usable();
  std::shared_lock state(state_mutex_);
  CollectionStats s;
  s.name = config_.name;
  s.count = live_;
  s.hnsw_active = graph_searchable();
  if (s.hnsw_active) {
    const auto tuning = tuner_.status();
    s.search_plan = tuning.describe();
    s.search_ef = tuning.mode == SearchTuner::Mode::exact ? 0 : tuning.ef;
    s.sampled_recall = tuning.sampled_recall;
  } else {
    s.search_plan = "exact scan (fewer than " + std::to_string(core_->options.flat_threshold) + " records)";
  }
  s.index_elements = index_ ? index_->element_count() : 0;
  s.index_deleted = index_ ? index_->deleted_count() : 0;
  s.last_seq = last_seq_;
  s.snapshot_seq = snapshot_seq_;
  s.index_recovery = recovery_;
  return s;
}

}  // namespace lunadb::vector::detail
