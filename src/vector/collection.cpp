#include "vector/collection.hpp"

#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_set>

#include "lunadb/error.hpp"
#include "sql/sqlite_driver.hpp"
#include "vector/distance.hpp"
#include "vector/filter.hpp"
#include "vector/snapshot.hpp"

namespace lunadb::vector::detail {

namespace {

constexpr std::size_t kMaxIdBytes = 4096;

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorKind::invalid_argument, message); }

float inverse_norm(const float* v, std::size_t dim) {
  float norm = std::sqrt(dot_product(v, v, dim));
  return norm > 0 ? 1.0f / norm : 0.0f;
}

Space space_for(Distance d) { return d == Distance::l2 ? Space::l2 : Space::inner_product; }

}  // namespace

CollectionImpl::CollectionImpl(std::shared_ptr<StoreCore> core, std::int64_t collection_id, CollectionConfig config)
    : core_(std::move(core)),
      collection_id_(collection_id),
      config_(std::move(config)),
      dim_(static_cast<std::size_t>(config_.dimension)) {
  std::vector<StoredRecord> records;
  core_->db->load_records(collection_id_, config_.dimension, [&](StoredRecord&& r) { records.push_back(std::move(r)); });
  load(std::move(records));
}

std::filesystem::path CollectionImpl::index_directory() const {
  return core_->directory / "index" / std::to_string(collection_id_);
}

void CollectionImpl::check_usable() const {
  if (!core_->open) throw Error(ErrorKind::usage, "collection '" + config_.name + "': the vector store was closed");
  if (dropped_) throw Error(ErrorKind::usage, "collection '" + config_.name + "' was deleted");
}

// ---------------------------------------------------------------------------------------------
// Opening: records first, then the snapshot if it is sound, then catch up with the records.

void CollectionImpl::load(std::vector<StoredRecord> records) {
  for (const auto& r : records) last_seq_ = std::max(last_seq_, r.seq);
  const bool wants_index = records.size() >= core_->options.flat_threshold;
  SnapshotMeta expected;
  expected.collection_id = collection_id_;
  expected.dimension = config_.dimension;
  expected.distance = config_.distance;
  expected.m = config_.index.m;

  std::unordered_map<std::uint32_t, const SnapshotEntry*> entry_by_label;
  LoadedSnapshot snapshot;
  bool have_snapshot = false;
  const auto dir = index_directory();
  if (wants_index && std::filesystem::exists(dir / kMetaFileName)) {
    try {
      snapshot = load_snapshot(dir, expected, records.size() + 16);
      std::unordered_map<std::string, std::size_t> record_by_id;
      for (std::size_t i = 0; i < records.size(); ++i) record_by_id.emplace(records[i].id, i);
      std::unordered_set<std::string> ids_seen;
      std::vector<std::uint32_t> snapshot_labels = snapshot.index->labels();
      std::uint32_t max_label = 0;
      for (auto label : snapshot_labels) max_label = std::max(max_label, label + 1);
      for (const auto& e : snapshot.meta.entries) {
        if (e.label >= max_label || !entry_by_label.emplace(e.label, &e).second || !ids_seen.insert(e.id).second) {
          throw Error(ErrorKind::corrupt, "label table does not match the index");
        }
      }
      // Records keep the slot (label) the snapshot gave them, so its graph can be reused.
      slots_.resize(max_label);
      std::vector<char> placed(records.size(), 0);
      for (const auto& e : snapshot.meta.entries) {
        auto it = record_by_id.find(e.id);
        if (it == record_by_id.end()) continue;
        place(e.label, std::move(records[it->second]));
        placed[it->second] = 1;
      }
      for (std::uint32_t s = max_label; s-- > 0;) {
        if (!slots_[s].live) free_slots_.push_back(s);
      }
      for (std::size_t i = 0; i < records.size(); ++i) {
        if (!placed[i]) place(take_slot(), std::move(records[i]));
      }
      index_ = std::move(snapshot.index);
      generation_ = snapshot.meta.generation;
      snapshot_seq_ = snapshot.meta.last_seq;
      have_snapshot = true;
    } catch (const std::exception& e) {
      recovery_ = std::string("index snapshot rebuilt from the records: ") + e.what();
      slots_.clear();
      vectors_.clear();
      inverse_norms_.clear();
      by_id_.clear();
      free_slots_.clear();
      live_ = 0;
      entry_by_label.clear();
      index_.reset();
      // `records` may have been partly moved from: reload them.
      records.clear();
      core_->db->load_records(collection_id_, config_.dimension, [&](StoredRecord&& r) { records.push_back(std::move(r)); });
    }
  }
  if (!have_snapshot) {
    for (auto& r : records) place(take_slot(), std::move(r));
    if (wants_index) {
      if (recovery_.empty()) recovery_ = "no index snapshot: built from the records";
      build_index();
    }
    return;
  }
  // Catch up: drop what changed or vanished since the snapshot, index what is newer.
  std::vector<std::uint32_t> stale;
  std::size_t dropped = 0;
  for (auto label : index_->labels()) {
    auto it = entry_by_label.find(label);
    bool current = it != entry_by_label.end() && label < slots_.size() && slots_[label].live &&
                   slots_[label].id == it->second->id && slots_[label].seq == it->second->seq;
    if (!current && index_->contains_live(label)) {
      index_->mark_deleted(label);
      ++dropped;
    }
  }
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (!slots_[s].live) continue;
    auto it = entry_by_label.find(s);
    bool current = it != entry_by_label.end() && slots_[s].id == it->second->id && slots_[s].seq == it->second->seq &&
                   index_->contains_live(s);
    if (!current) stale.push_back(s);
  }
  index_slots(stale);
  changes_since_snapshot_ = stale.size() + dropped;
  maybe_compact();
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
  if (vectors_.size() < slots_.size() * dim_) {
    vectors_.resize(slots_.size() * dim_);
    inverse_norms_.resize(slots_.size());
  }
  Slot& target = slots_[slot];
  if (!target.live) ++live_;
  if (target.live && target.id != record.id) by_id_.erase(target.id);
  target.id = record.id;
  target.seq = record.seq;
  target.added_seq = record.added_seq;
  target.document = std::move(record.document);
  target.metadata = std::move(record.metadata);
  target.live = true;
  std::copy(record.embedding.begin(), record.embedding.end(), vectors_.begin() + static_cast<std::ptrdiff_t>(std::size_t{slot} * dim_));
  inverse_norms_[slot] = inverse_norm(vector_of(slot), dim_);
  by_id_[target.id] = slot;
}

std::vector<float> CollectionImpl::index_vector(std::uint32_t slot) const {
  std::vector<float> v(vector_of(slot), vector_of(slot) + dim_);
  if (config_.distance == Distance::cosine) {
    for (auto& x : v) x *= inverse_norms_[slot];
  }
  return v;
}

void CollectionImpl::index_slots(const std::vector<std::uint32_t>& slots) {
  if (!index_ || slots.empty()) return;
  std::vector<std::vector<float>> copies;
  copies.reserve(slots.size());
  std::vector<std::pair<const float*, std::uint32_t>> items;
  items.reserve(slots.size());
  for (auto s : slots) {
    copies.push_back(index_vector(s));
    items.emplace_back(copies.back().data(), s);
  }
  index_->add_batch(items, core_->index_threads);
}

void CollectionImpl::build_index() {
  index_ = std::make_unique<HnswIndex>(space_for(config_.distance), config_.dimension, config_.index.m,
                                       config_.index.ef_construction, std::max<std::size_t>(slots_.size(), 16));
  std::vector<std::uint32_t> all;
  all.reserve(live_);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].live) all.push_back(s);
  }
  index_slots(all);
  changes_since_snapshot_ = std::max<std::size_t>(all.size(), 1);
}

// Deleted nodes still route searches in hnswlib; once they dominate, recall and speed suffer.
void CollectionImpl::maybe_compact() {
  if (index_ && index_->deleted_count() > std::max(core_->options.flat_threshold, live_)) build_index();
}

// ---------------------------------------------------------------------------------------------
// Writes: validate everything, commit to SQLite, then apply to memory.

void CollectionImpl::validate_id(const std::string& id, const std::string& what) const {
  if (id.empty()) invalid(what + ": record ids must be non-empty");
  if (id.size() > kMaxIdBytes) invalid(what + ": record id longer than 4096 bytes");
  if (!sql::is_valid_utf8(id)) invalid(what + ": record id is not valid UTF-8");
}

void CollectionImpl::validate_embedding(const std::vector<float>& embedding, const std::string& context) const {
  if (embedding.size() != dim_) {
    invalid(context + ": embedding has dimension " + std::to_string(embedding.size()) + " but collection '" +
            config_.name + "' expects " + std::to_string(dim_));
  }
  for (std::size_t i = 0; i < embedding.size(); ++i) {
    if (!std::isfinite(embedding[i])) invalid(context + ": embedding value " + std::to_string(i) + " is NaN or infinite");
  }
  if (config_.distance == Distance::cosine && inverse_norm(embedding.data(), dim_) == 0.0f) {
    invalid(context + ": a zero vector has no direction for cosine distance");
  }
}

std::vector<StoredRecord> CollectionImpl::prepare_puts(const std::vector<Record>& records, bool upsert) const {
  const char* op = upsert ? "upsert" : "add";
  std::unordered_set<std::string_view> seen;
  std::vector<StoredRecord> puts;
  puts.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::string where = std::string(op) + " to '" + config_.name + "', record " + std::to_string(i);
    validate_id(r.id, where);
    const std::string context = std::string(op) + " to '" + config_.name + "', record '" + r.id + "'";
    if (!seen.insert(r.id).second) invalid(context + ": id appears more than once in this call");
    validate_embedding(r.embedding, context);
    if (r.document && !sql::is_valid_utf8(*r.document)) invalid(context + ": document is not valid UTF-8");
    validate_metadata(r.metadata, true, context);
    StoredRecord p;
    p.id = r.id;
    p.embedding = r.embedding;
    auto existing = by_id_.find(r.id);
    if (existing != by_id_.end()) {
      if (!upsert) {
        throw Error(ErrorKind::constraint, context + ": id already exists (use upsert to replace it); nothing was written");
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
  std::unordered_set<std::string_view> seen;
  std::vector<StoredRecord> puts;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const RecordUpdate& u = updates[i];
    validate_id(u.id, "update of '" + config_.name + "', record " + std::to_string(i));
    const std::string context = "update of '" + config_.name + "', record '" + u.id + "'";
    if (!seen.insert(u.id).second) invalid(context + ": id appears more than once in this call");
    if (u.embedding) validate_embedding(*u.embedding, context);
    if (u.document && !sql::is_valid_utf8(*u.document)) invalid(context + ": document is not valid UTF-8");
    validate_metadata(u.metadata, true, context);
    auto existing = by_id_.find(u.id);
    if (existing == by_id_.end()) continue;  // as in ChromaDB: unknown ids are skipped
    const Slot& old = slots_[existing->second];
    StoredRecord p;
    p.id = u.id;
    p.added_seq = old.added_seq;
    p.embedding = u.embedding ? *u.embedding : std::vector<float>(vector_of(existing->second), vector_of(existing->second) + dim_);
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
  if (request.ids.empty() && request.where.is_null() && request.where_document.is_null()) {
    invalid("delete from '" + config_.name + "': give ids, where or where_document (an empty request would delete everything)");
  }
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
  std::vector<const StoredRecord*> put_rows;
  put_rows.reserve(puts.size());
  for (const auto& p : puts) put_rows.push_back(&p);
  core_->db->write(collection_id_, put_rows, deletes, seq);  // durable from here on

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
    std::vector<std::uint32_t> touched;
    touched.reserve(puts.size());
    for (auto& p : puts) {
      auto it = by_id_.find(p.id);
      std::uint32_t s = it != by_id_.end() ? it->second : take_slot();
      bool reindex = p.reindex;
      place(s, std::move(p));
      if (reindex) touched.push_back(s);
    }
    if (index_) {
      index_slots(touched);
      maybe_compact();
    } else if (live_ >= core_->options.flat_threshold) {
      build_index();
    }
    if (index_) changes_since_snapshot_ += puts.size() + deletes.size();
  }
  if (index_ && changes_since_snapshot_ >= core_->options.snapshot_every) {
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
    if (request.include & include_embeddings) result.embeddings.emplace_back(vector_of(matched[i]), vector_of(matched[i]) + dim_);
    if (request.include & include_documents) result.documents.push_back(slot.document);
    if (request.include & include_metadatas) result.metadatas.push_back(slot.metadata);
  }
  return result;
}

float CollectionImpl::distance_to(const std::vector<float>& query, std::uint32_t slot) const {
  switch (config_.distance) {
    case Distance::cosine: return 1.0f - dot_product(query.data(), vector_of(slot), dim_) * inverse_norms_[slot];
    case Distance::ip: return 1.0f - dot_product(query.data(), vector_of(slot), dim_);
    case Distance::l2: return squared_l2(query.data(), vector_of(slot), dim_);
  }
  return 0;
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
                                                                        const std::vector<std::uint32_t>* allowed,
                                                                        const std::vector<char>* allowed_mask) const {
  const std::size_t threshold = core_->options.flat_threshold;
  const std::size_t candidates = allowed ? allowed->size() : live_;
  if (!index_ || live_ < threshold || candidates <= threshold) return flat_search(query, k, allowed);
  const std::size_t ef_base = std::max<std::size_t>(static_cast<std::size_t>(config_.index.ef_search), 2 * k);
  // hnswlib 0.6.2 has no filter hook: over-fetch in proportion to the filter's selectivity.
  std::size_t fetch = k;
  if (allowed) fetch = static_cast<std::size_t>(std::ceil(double(k) * double(live_) / double(candidates) * 2.0));
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

std::vector<Matches> CollectionImpl::query(const QueryRequest& request) const {
  check_usable();
  const std::string context = "query of '" + config_.name + "'";
  if (!request.embedding_model.empty() && !config_.embedding_model.empty() &&
      request.embedding_model != config_.embedding_model) {
    invalid(context + ": the query vectors come from model '" + request.embedding_model + "' but the collection was built with '" +
            config_.embedding_model + "'; embed the query text with '" + config_.embedding_model +
            "', or re-embed the collection (export the documents, create a new collection with the new model, add them)");
  }
  if (request.embeddings.empty()) invalid(context + ": no query vectors given");
  if (request.n_results == 0) invalid(context + ": n_results must be at least 1");
  std::vector<std::vector<float>> queries;
  for (std::size_t q = 0; q < request.embeddings.size(); ++q) {
    const auto& e = request.embeddings[q];
    if (e.size() != dim_) {
      invalid(context + ": query vector " + std::to_string(q) + " has dimension " + std::to_string(e.size()) +
              " but the collection expects " + std::to_string(dim_) +
              (config_.embedding_model.empty() ? std::string()
                                               : " (vectors of model '" + config_.embedding_model + "'); embed the query with that model"));
    }
    validate_embedding(e, context + ", vector " + std::to_string(q));
    std::vector<float> v = e;
    if (config_.distance == Distance::cosine) {
      float inv = inverse_norm(v.data(), dim_);
      for (auto& x : v) x *= inv;
    }
    queries.push_back(std::move(v));
  }
  Filter filter = Filter::compile(request.where, request.where_document);

  std::shared_lock state(state_mutex_);
  std::vector<std::uint32_t> allowed;
  std::vector<char> mask;
  const bool restricted = !filter.empty() || !request.ids.empty();
  if (restricted) {
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
  }
  std::vector<Matches> results;
  results.reserve(queries.size());
  for (const auto& q : queries) {
    Matches m;
    if (!restricted || !allowed.empty()) {
      auto hits = search_one(q, request.n_results, restricted ? &allowed : nullptr, restricted ? &mask : nullptr);
      for (const auto& [distance, s] : hits) {
        m.ids.push_back(slots_[s].id);
        if (request.include & include_distances) m.distances.push_back(distance);
        if (request.include & include_embeddings) m.embeddings.emplace_back(vector_of(s), vector_of(s) + dim_);
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
  s.hnsw_active = index_ != nullptr && live_ >= core_->options.flat_threshold;
  s.index_elements = index_ ? index_->element_count() : 0;
  s.index_deleted = index_ ? index_->deleted_count() : 0;
  s.last_seq = last_seq_;
  s.snapshot_seq = snapshot_seq_;
  s.index_recovery = recovery_;
  return s;
}

}  // namespace lunadb::vector::detail
