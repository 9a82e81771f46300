#pragma once
// Helpers shared by the vector store tests: synthetic data and small conveniences.

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "lunadb/vector.hpp"

namespace lunadb::vector::testing {

// Unit vectors around `clusters` random centres: the shape of real sentence embeddings.
inline std::vector<std::vector<float>> clustered_vectors(std::size_t n, int dim, std::size_t clusters, std::uint32_t seed,
                                                         float spread = 0.35f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto normalise = [](std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (float& x : v) x *= inv;
  };
  std::vector<std::vector<float>> centres(clusters, std::vector<float>(static_cast<std::size_t>(dim)));
  for (auto& c : centres) {
    for (auto& x : c) x = normal(rng);
    normalise(c);
  }
  std::vector<std::vector<float>> out(n, std::vector<float>(static_cast<std::size_t>(dim)));
  const float noise = spread / std::sqrt(static_cast<float>(dim));
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = centres[i % clusters];
    for (int d = 0; d < dim; ++d) out[i][static_cast<std::size_t>(d)] = c[static_cast<std::size_t>(d)] + noise * normal(rng);
    normalise(out[i]);
  }
  return out;
}

inline std::vector<float> random_vector(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(dim));
  for (auto& x : v) x = normal(rng);
  return v;
}

inline Record make_record(std::string id, std::vector<float> embedding, std::optional<std::string> document = std::nullopt,
                          Json metadata = nullptr) {
  return Record{std::move(id), std::move(embedding), std::move(document), std::move(metadata)};
}

// ---- an independent reference evaluator, written straight from the semantics table ----

inline bool ref_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a.type() == b.type() && a == b;
}

inline bool reference_where(const Json& where, const Json& md) {
  auto [key, cond] = *where.items().begin();
  if (key == "$and") {
    for (const auto& c : cond) if (!reference_where(c, md)) return false;
    return true;
  }
  if (key == "$or") {
    for (const auto& c : cond) if (reference_where(c, md)) return true;
    return false;
  }
  Json op = cond.is_object() ? cond : Json{{"$eq", cond}};
  auto [name, arg] = *op.items().begin();
  bool has = md.is_object() && md.contains(key);
  Json v = has ? md[key] : Json();
  auto in_list = [&](const Json& list, const Json& x) {
    for (const auto& e : list) if (ref_equal(e, x)) return true;
    return false;
  };
  if (name == "$eq") return has && ref_equal(v, arg);
  if (name == "$ne") return !(has && ref_equal(v, arg));
  if (name == "$in") return has && in_list(arg, v);
  if (name == "$nin") return !(has && in_list(arg, v));
  if (name == "$contains") return has && v.is_array() && in_list(v, arg);
  if (name == "$not_contains") return !(has && v.is_array() && in_list(v, arg));
  if (!has || !v.is_number()) return false;
  double x = v.get<double>(), y = arg.get<double>();
  if (name == "$gt") return x > y;
  if (name == "$gte") return x >= y;
  if (name == "$lt") return x < y;
  return x <= y;
}

// Random metadata over keys a, b, c (ints, halves, one-letter strings, booleans) and tags (lists
// of letters), and random where clauses over them that match a fair share of such records.
class RandomFilters {
 public:
  explicit RandomFilters(std::uint32_t seed) : rng_(seed) {}

  Json metadata() {
    Json m = Json::object();
    for (const auto& k : keys_) if (pick(3) != 0) m[k] = value(k);
    return m.empty() ? Json() : m;
  }

  Json where(int depth = 0) {
    if (depth < 2 && pick(4) == 0) {
      Json children = Json::array();
      for (int i = 0, n = 1 + pick(3); i < n; ++i) children.push_back(where(depth + 1));
      return {{pick(2) ? "$and" : "$or", children}};
    }
    std::string key = keys_[static_cast<std::size_t>(pick(3))];
    static const char* ops[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains", "$not_contains"};
    std::string op = ops[pick(10)];
    if (op == "$contains" || op == "$not_contains") return {{"tags", {{op, letter()}}}};
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") return {{key, {{op, pick(2) ? Json(pick(5)) : Json(pick(5) + 0.5)}}}};
    if (op == "$in" || op == "$nin") {
      Json list = Json::array();
      bool strings = pick(2);
      for (int i = 0, n = 1 + pick(3); i < n; ++i) list.push_back(strings ? Json(letter()) : Json(pick(5)));
      return {{key, {{op, list}}}};
    }
    Json v = value(key);
    return pick(2) ? Json{{key, v}} : Json{{key, {{op, v}}}};
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  std::string letter() { return std::string(1, char('p' + pick(4))); }
  Json value(const std::string& key) {
    if (key == "tags") {
      Json list = Json::array();
      for (int i = 0, n = 1 + pick(3); i < n; ++i) list.push_back(letter());
      return list;
    }
    switch (pick(4)) {
      case 0: return pick(5);
      case 1: return pick(5) + 0.5 * pick(2);
      case 2: return letter();
      default: return pick(2) == 1;
    }
  }

  std::mt19937 rng_;
  const std::vector<std::string> keys_ = {"a", "b", "c", "tags"};
};

}  // namespace lunadb::vector::testing
