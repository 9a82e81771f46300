// Model-based test: random sequences of add/upsert/update/delete/get/query with reopens in the
// middle, checked after every step against a brute-force in-memory model (the approach of
// ChromaDB's Hypothesis state machines). Small flat_threshold and snapshot_every make the HNSW,
// snapshot and catch-up paths run often.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"
#include "support/vector_backends.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

struct ModelRecord {
  std::vector<float> embedding;
  std::optional<std::string> document;
  Json metadata;
  std::int64_t order;
};

Json model_merge(const Json& base, const Json& patch) {
  Json out = base.is_object() ? base : Json::object();
  if (patch.is_object()) {
    for (auto& [k, v] : patch.items()) {
      if (v.is_null()) out.erase(k); else out[k] = v;
    }
  }
  return out.empty() ? Json() : out;
}

double model_distance(Distance d, const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
    l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  }
  if (d == Distance::l2) return l2;
  if (d == Distance::ip) return 1 - dot;
  return 1 - dot / std::sqrt(na * nb);
}

class Machine {
 public:
  Machine(test::VectorBackendFixture& backend, Distance distance, std::uint32_t seed)
      : backend_(backend), distance_(distance), rng_(seed) {
    options_.flat_threshold = 25;
    options_.snapshot_every = 7;
    options_.index_threads = 1 + seed % 2;
    open();
    CollectionConfig config;
    config.name = "model";
    config.dimension = kDim;
    config.distance = distance;
    collection_ = store_->create_collection(config);
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      int op = pick(100);
      SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op));
      if (op < 25) add();
      else if (op < 40) upsert();
      else if (op < 50) update();
      else if (op < 60) remove();
      else if (op < 72) get();
      else if (op < 90) query();
      else if (op < 95) reopen(pick(2) == 0);
      else flush();
      ASSERT_EQ(collection_->count(), model_.size());
      if (::testing::Test::HasFailure()) return;
    }
    check_everything();
    reopen(false);
    check_everything();
  }

  double recall() const { return expected_hits_ == 0 ? 1.0 : double(found_hits_) / double(expected_hits_); }

 private:
  static constexpr int kDim = 8;

  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

  void open() {
    store_.reset();
    store_ = backend_.open(options_);
  }

  std::string existing_id() {
    auto it = model_.begin();
    std::advance(it, pick(static_cast<int>(model_.size())));
    return it->first;
  }
  std::string fresh_id() { return "id" + std::to_string(next_id_++); }
  std::string some_id() { return !model_.empty() && pick(2) ? existing_id() : fresh_id(); }

  Json random_metadata(bool patch) {
    if (pick(5) == 0) return nullptr;
    Json m = Json::object();
    if (pick(2)) m["k"] = pick(5);
    if (pick(2)) m["f"] = pick(10) / 4.0;
    if (pick(2)) m["s"] = std::string(1, char('a' + pick(3)));
    if (pick(3) == 0) m["tags"] = Json::array({std::string(1, char('a' + pick(3)))});
    if (patch && pick(3) == 0) m[pick(2) ? "k" : "s"] = nullptr;
    return m;
  }
  std::optional<std::string> random_document() {
    if (pick(4) == 0) return std::nullopt;
    static const char* words[] = {"coffee", "tea", "music", "walk", "Coffee"};
    return std::string(words[pick(5)]) + " " + words[pick(5)];
  }
  Json random_where() {
    switch (pick(6)) {
      case 0: return {{"k", pick(5)}};
      case 1: return {{"k", {{"$ne", pick(5)}}}};
      case 2: return {{"f", {{"$gte", pick(10) / 4.0}}}};
      case 3: return {{"s", {{"$in", {"a", "b"}}}}};
      case 4: return {{"tags", {{"$contains", "a"}}}};
      default: return {{"$or", {{{"k", {{"$lt", 2}}}}, {{"s", "c"}}}}};
    }
  }

  std::vector<float> random_embedding() { return testing::random_vector(rng_, kDim); }

  void add() {
    std::vector<Record> batch;
    bool duplicate = false;
    std::set<std::string> in_batch;
    for (int i = 0, n = 1 + pick(6); i < n; ++i) {
      std::string id = pick(8) == 0 ? some_id() : fresh_id();
      if (!in_batch.insert(id).second) continue;
      duplicate |= model_.count(id) > 0;
      batch.push_back({id, random_embedding(), random_document(), random_metadata(false)});
    }
    if (duplicate) {
      EXPECT_THROW(collection_->add(batch), Error);
      return;
    }
    collection_->add(batch);
    for (auto& r : batch) {
      Json m = model_merge(nullptr, r.metadata);
      model_[r.id] = {r.embedding, r.document, m, order_++};
    }
  }

  void upsert() {
    std::vector<Record> batch;
    std::set<std::string> in_batch;
    for (int i = 0, n = 1 + pick(4); i < n; ++i) {
      std::string id = some_id();
      if (!in_batch.insert(id).second) continue;
      batch.push_back({id, random_embedding(), random_document(), random_metadata(true)});
    }
    collection_->upsert(batch);
    for (auto& r : batch) {
      auto it = model_.find(r.id);
      if (it == model_.end()) {
        model_[r.id] = {r.embedding, r.document, model_merge(nullptr, r.metadata), order_++};
      } else {
        it->second.embedding = r.embedding;
        if (r.document) it->second.document = r.document;
        it->second.metadata = model_merge(it->second.metadata, r.metadata);
      }
    }
  }

  void update() {
    std::vector<RecordUpdate> batch;
    std::set<std::string> in_batch;
    for (int i = 0, n = 1 + pick(4); i < n; ++i) {
      std::string id = some_id();
      if (!in_batch.insert(id).second) continue;
      RecordUpdate u{id, std::nullopt, std::nullopt, nullptr};
      if (pick(2)) u.embedding = random_embedding();
      if (pick(2)) u.document = random_document();
      if (pick(2)) u.metadata = random_metadata(true);
      batch.push_back(u);
    }
    std::size_t expected = 0;
    for (auto& u : batch) {
      auto it = model_.find(u.id);
      if (it == model_.end()) continue;
      ++expected;
      if (u.embedding) it->second.embedding = *u.embedding;
      if (u.document) it->second.document = u.document;
      it->second.metadata = model_merge(it->second.metadata, u.metadata);
    }
    EXPECT_EQ(collection_->update(batch), expected);
  }

  void remove() {
    DeleteRequest request;
    if (pick(3) != 0 || model_.empty()) {
      for (int i = 0, n = 1 + pick(3); i < n; ++i) request.ids.push_back(some_id());
    }
    if (pick(3) == 0 || request.ids.empty()) request.where = random_where();
    std::vector<std::string> doomed;
    for (auto& [id, r] : model_) {
      bool id_ok = request.ids.empty() || std::find(request.ids.begin(), request.ids.end(), id) != request.ids.end();
      if (id_ok && (request.where.is_null() || matches(request.where, r))) doomed.push_back(id);
    }
    EXPECT_EQ(collection_->remove(request), doomed.size()) << Json(request.ids).dump() << " where " << request.where.dump();
    for (auto& id : doomed) model_.erase(id);
  }

  bool matches(const Json& where, const ModelRecord& r) { return testing::reference_where(where, r.metadata); }

  std::vector<std::string> model_order() const {
    std::vector<std::pair<std::int64_t, std::string>> order;
    for (auto& [id, r] : model_) order.emplace_back(r.order, id);
    std::sort(order.begin(), order.end());
    std::vector<std::string> ids;
    for (auto& [o, id] : order) ids.push_back(id);
    return ids;
  }

  void get() {
    GetRequest g;
    g.include = include_all;
    if (pick(3) == 0 && !model_.empty()) g.ids = {existing_id(), fresh_id()};
    if (pick(3) == 0) {
      g.offset = static_cast<std::size_t>(pick(4));
      g.limit = static_cast<std::size_t>(pick(6));
    }
    auto r = collection_->get(g);
    std::vector<std::string> expected;
    for (auto& id : model_order()) {
      if (g.ids.empty() || std::find(g.ids.begin(), g.ids.end(), id) != g.ids.end()) expected.push_back(id);
    }
    std::size_t begin = std::min(g.offset, expected.size());
    std::size_t end = g.limit ? std::min(expected.size(), begin + *g.limit) : expected.size();
    expected = std::vector<std::string>(expected.begin() + static_cast<std::ptrdiff_t>(begin),
                                        expected.begin() + static_cast<std::ptrdiff_t>(end));
    ASSERT_EQ(r.ids, expected);
    for (std::size_t i = 0; i < r.ids.size(); ++i) {
      const auto& m = model_.at(r.ids[i]);
      EXPECT_EQ(r.embeddings[i], m.embedding);
      EXPECT_EQ(r.documents[i], m.document);
      EXPECT_EQ(r.metadatas[i], m.metadata) << r.ids[i];
    }
  }

  void query() {
    QueryRequest q;
    q.embeddings = {random_embedding()};
    if (pick(3) == 0 && !model_.empty()) q.embeddings.push_back(model_.at(existing_id()).embedding);
    q.n_results = static_cast<std::size_t>(1 + pick(8));
    auto results = collection_->query(q);
    ASSERT_EQ(results.size(), q.embeddings.size());
    for (std::size_t qi = 0; qi < results.size(); ++qi) {
      std::vector<std::pair<double, std::string>> exact;
      for (auto& [id, r] : model_) exact.emplace_back(model_distance(distance_, q.embeddings[qi], r.embedding), id);
      std::sort(exact.begin(), exact.end());
      std::size_t k = std::min(q.n_results, exact.size());
      const auto& got = results[qi];
      ASSERT_EQ(got.ids.size(), k);
      for (std::size_t i = 0; i < k; ++i) {
        const auto& m = model_.at(got.ids[i]);
        EXPECT_NEAR(got.distances[i], model_distance(distance_, q.embeddings[qi], m.embedding), 1e-4);
        if (i > 0) {
          EXPECT_LE(got.distances[i - 1], got.distances[i] + 1e-6);
        }
      }
      std::set<std::string> truth;
      for (std::size_t i = 0; i < k; ++i) truth.insert(exact[i].second);
      for (auto& id : got.ids) found_hits_ += truth.count(id);
      expected_hits_ += k;
    }
  }

  void reopen(bool flush_first) {
    if (flush_first) store_->flush();
    collection_.reset();
    open();
    collection_ = store_->get_collection("model");
  }

  void flush() { collection_->flush(); }

  void check_everything() {
    GetRequest g;
    g.include = include_all;
    auto r = collection_->get(g);
    ASSERT_EQ(r.ids, model_order());
    for (std::size_t i = 0; i < r.ids.size(); ++i) {
      EXPECT_EQ(r.embeddings[i], model_.at(r.ids[i]).embedding);
      EXPECT_EQ(r.metadatas[i], model_.at(r.ids[i]).metadata);
    }
    // Every live vector finds itself.
    for (auto& [id, rec] : model_) {
      QueryRequest q;
      q.embeddings = {rec.embedding};
      q.n_results = 1;
      auto hit = collection_->query(q)[0];
      ASSERT_EQ(hit.ids.size(), 1u);
      EXPECT_NEAR(hit.distances[0], model_distance(distance_, rec.embedding, model_.at(hit.ids[0]).embedding), 1e-4);
      if (distance_ != Distance::ip) {
        EXPECT_EQ(hit.ids[0], id);
      }
    }
  }

  test::VectorBackendFixture& backend_;
  Distance distance_;
  std::mt19937 rng_;
  OpenOptions options_;
  std::unique_ptr<VectorStore> store_;
  std::shared_ptr<Collection> collection_;
  std::map<std::string, ModelRecord> model_;
  int next_id_ = 0;
  std::int64_t order_ = 0;
  std::size_t found_hits_ = 0;
  std::size_t expected_hits_ = 0;
};

class VectorModel : public ::testing::TestWithParam<std::tuple<test::VectorBackendKind, Distance, std::uint32_t>> {};

TEST_P(VectorModel, RandomOperationsMatchTheReference) {
  auto [kind, distance, seed] = GetParam();
  test::VectorBackendFixture backend(kind);
  LUNADB_REQUIRE_BACKEND(backend);
  Machine machine(backend, distance, seed);
  machine.run(250);
  EXPECT_GE(machine.recall(), 0.95);
}

INSTANTIATE_TEST_SUITE_P(Seeds, VectorModel,
                         ::testing::Combine(::testing::ValuesIn(test::vector_backend_kinds()),
                                            ::testing::Values(Distance::cosine, Distance::l2, Distance::ip),
                                            ::testing::Values(1u, 2u)),
                         [](const auto& param_info) {
                           return test::backend_name(std::get<0>(param_info.param)) + "_" + to_string(std::get<1>(param_info.param)) + "_" +
                                  std::to_string(std::get<2>(param_info.param));
                         });

}  // namespace
}  // namespace lunadb::vector
