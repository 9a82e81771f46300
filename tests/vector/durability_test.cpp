// Corruption, crash and fuzz tests of the on-disk format: a damaged index snapshot is rebuilt
// from the records (never a crash), acknowledged writes survive SIGKILL.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

namespace fs = std::filesystem;
constexpr int kDim = 16;

OpenOptions small_index_options() {
  OpenOptions o;
  o.flat_threshold = 20;
  o.snapshot_every = 50;
  return o;
}

CollectionConfig config(const std::string& name = "c") {
  CollectionConfig c;
  c.name = name;
  c.dimension = kDim;
  return c;
}

// Writes `n` clustered records, closes the store (which saves the snapshot), returns them.
std::vector<std::vector<float>> populate(const fs::path& dir, std::size_t n) {
  auto vectors = testing::clustered_vectors(n, kDim, 8, 7);
  auto store = VectorStore::open(dir, small_index_options());
  auto c = store->create_collection(config());
  std::vector<Record> batch;
  for (std::size_t i = 0; i < n; ++i) batch.push_back(testing::make_record("r" + std::to_string(i), vectors[i]));
  c->add(batch);
  c->remove(DeleteRequest{{"r0", "r1"}, nullptr, nullptr});
  return vectors;
}

// Opens the store and checks every record is there and finds itself.
void expect_intact(const fs::path& dir, const std::vector<std::vector<float>>& vectors, std::string* recovery = nullptr) {
  auto store = VectorStore::open(dir, small_index_options());
  auto c = store->get_collection("c");
  ASSERT_EQ(c->count(), vectors.size() - 2);
  if (recovery) *recovery = c->stats().index_recovery;
  EXPECT_TRUE(c->stats().hnsw_active);
  QueryRequest q;
  q.n_results = 1;
  for (std::size_t i = 2; i < vectors.size(); ++i) q.embeddings.push_back(vectors[i]);
  auto results = c->query(q);
  for (std::size_t i = 2; i < vectors.size(); ++i) {
    ASSERT_EQ(results[i - 2].ids.size(), 1u);
    EXPECT_EQ(results[i - 2].ids[0], "r" + std::to_string(i));
  }
}

fs::path only_file(const fs::path& dir, const std::string& suffix) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) return e.path();
  }
  return {};
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string bytes_of_every_file(const fs::path& dir) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

// A removed record's document and metadata are zeroed on disk (secure_delete), not left in the
// freed space of its pages for anyone reading the files: what `lunadb memory forget` promises.
TEST(VectorDurability, RemovedRecordsLeaveNoTextInTheFiles) {
  test::TempDir dir{"lunadb-vector"};
  auto vectors = testing::clustered_vectors(40, kDim, 4, 3);
  {
    auto store = VectorStore::open(dir.path(), small_index_options());
    auto c = store->create_collection(config());
    std::vector<Record> batch;
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      const std::string tag = i % 2 ? "kept" : "forgotten";
      batch.push_back(testing::make_record("r" + std::to_string(i), vectors[i], tag + "-document-" + std::to_string(i),
                                           Json{{"note", tag + "-metadata-" + std::to_string(i)}}));
    }
    c->add(batch);
    std::vector<std::string> removed;
    for (std::size_t i = 0; i < vectors.size(); i += 2) removed.push_back("r" + std::to_string(i));
    c->remove(DeleteRequest{removed, nullptr, nullptr});
  }
  const std::string all = bytes_of_every_file(dir.path());
  // The control: what was kept is found, so the scan reads where the text lives.
  EXPECT_NE(all.find("kept-document-1"), std::string::npos);
  EXPECT_NE(all.find("kept-metadata-1"), std::string::npos);
  EXPECT_EQ(all.find("forgotten-document-"), std::string::npos);
  EXPECT_EQ(all.find("forgotten-metadata-"), std::string::npos);
}

TEST(VectorDurability, CleanReopenLoadsTheSnapshotWithoutRebuilding) {
  test::TempDir dir{"lunadb-vector"};
  auto vectors = populate(dir.path(), 120);
  std::string recovery;
  expect_intact(dir.path(), vectors, &recovery);
  EXPECT_EQ(recovery, "");
}

TEST(VectorDurability, DamagedSnapshotFilesAreRebuiltFromRecords) {
  test::TempDir dir{"lunadb-vector"};
  auto vectors = populate(dir.path(), 120);
  const fs::path index_dir = dir.path() / "index" / "1";
  const fs::path meta = index_dir / "index.meta";
  const fs::path hnsw = only_file(index_dir, ".hnsw");
  ASSERT_FALSE(hnsw.empty());
  const std::string meta_bytes = read_all(meta), hnsw_bytes = read_all(hnsw);
  std::mt19937 rng(99);
  for (const fs::path& target : {meta, hnsw}) {
    const std::string& original = target == meta ? meta_bytes : hnsw_bytes;
    std::vector<std::size_t> offsets = {0, 1, 8, 12, 40, original.size() / 2, original.size() - 5, original.size() - 1};
    for (int i = 0; i < 6; ++i) offsets.push_back(rng() % original.size());
    for (std::size_t offset : offsets) {
      SCOPED_TRACE(target.filename().string() + " at " + std::to_string(offset));
      std::string flipped = original;
      flipped[offset] = static_cast<char>(flipped[offset] ^ (1 << (rng() % 8)));
      write_all(target, flipped);
      std::string recovery;
      expect_intact(dir.path(), vectors, &recovery);
      EXPECT_NE(recovery.find("rebuilt"), std::string::npos) << recovery;
      // The reopen above saved a fresh snapshot; restore the damaged baseline's twin.
      write_all(meta, meta_bytes);
      for (const auto& e : fs::directory_iterator(index_dir)) {
        if (e.path().extension() == ".hnsw") fs::remove(e.path());
      }
      write_all(hnsw, hnsw_bytes);
      std::string truncated = original.substr(0, offset);
      write_all(target, truncated);
      expect_intact(dir.path(), vectors, &recovery);
      EXPECT_NE(recovery.find("rebuilt"), std::string::npos) << recovery;
      write_all(meta, meta_bytes);
      for (const auto& e : fs::directory_iterator(index_dir)) {
        if (e.path().extension() == ".hnsw") fs::remove(e.path());
      }
      write_all(hnsw, hnsw_bytes);
      if (::testing::Test::HasFailure()) return;
    }
  }
  fs::remove(hnsw);
  std::string recovery;
  expect_intact(dir.path(), vectors, &recovery);
  EXPECT_NE(recovery.find("rebuilt"), std::string::npos);
}

TEST(VectorDurability, FuzzedSnapshotsNeverCrashTheLoader) {
  test::TempDir dir{"lunadb-vector"};
  auto vectors = populate(dir.path(), 60);
  const fs::path index_dir = dir.path() / "index" / "1";
  const fs::path meta = index_dir / "index.meta";
  const fs::path hnsw = only_file(index_dir, ".hnsw");
  const std::string meta_bytes = read_all(meta), hnsw_bytes = read_all(hnsw);
  std::mt19937 rng(2024);
  for (int round = 0; round < 40; ++round) {
    std::string m = meta_bytes, h = hnsw_bytes;
    std::string& victim = rng() % 2 ? m : h;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
      switch (rng() % 4) {
        case 0: victim[rng() % victim.size()] = static_cast<char>(rng()); break;
        case 1: victim.resize(rng() % victim.size() + 1); break;
        case 2: victim.insert(rng() % victim.size(), std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
        default: {
          auto at = rng() % victim.size();
          std::uint32_t big = 0x7fffffffu;
          victim.replace(at, std::min<std::size_t>(4, victim.size() - at), reinterpret_cast<const char*>(&big), 4);
        }
      }
    }
    for (const auto& e : fs::directory_iterator(index_dir)) fs::remove(e.path());
    write_all(meta, m);
    write_all(hnsw, h);
    expect_intact(dir.path(), vectors);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(VectorDurability, SnapshotForAnotherCollectionIsNotTrusted) {
  test::TempDir dir{"lunadb-vector"};
  auto vectors = populate(dir.path(), 60);
  {
    auto store = VectorStore::open(dir.path(), small_index_options());
    auto other = store->create_collection(config("other"));
    std::vector<Record> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(testing::make_record("o" + std::to_string(i), vectors[static_cast<std::size_t>(i)]));
    other->add(batch);
  }
  fs::copy(dir.path() / "index" / "2", dir.path() / "index" / "1", fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  std::string recovery;
  expect_intact(dir.path(), vectors, &recovery);
  EXPECT_NE(recovery.find("another collection"), std::string::npos) << recovery;
}

// A child imports records in a loop and reports each acknowledged id through a pipe; the parent
// SIGKILLs it at a random moment, reopens, and checks that nothing acknowledged was lost.
TEST(VectorDurability, AcknowledgedWritesSurviveSigkill) {
  test::TempDir dir{"lunadb-vector-crash"};
  std::mt19937 rng(4242);
  std::set<std::string> acked;
  std::map<std::string, std::vector<float>> vectors_by_id;
  int next = 0;
  for (int iteration = 0; iteration < 5; ++iteration) {
    const int first = next;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      try {
        auto store = VectorStore::open(dir.path(), small_index_options());
        auto c = store->get_or_create_collection(config());
        std::mt19937 child_rng(static_cast<std::uint32_t>(first));
        for (int id = first;; id += 5) {
          std::vector<Record> batch;
          for (int j = 0; j < 5; ++j) batch.push_back(testing::make_record("k" + std::to_string(id + j), testing::random_vector(child_rng, kDim)));
          c->add(batch);
          std::string line = std::to_string(id) + "\n";
          if (write(fds[1], line.data(), line.size()) < 0) _exit(3);
        }
      } catch (...) {
        _exit(2);
      }
    }
    close(fds[1]);
    usleep(static_cast<useconds_t>(50000 + rng() % 250000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed on its own with status " << status;
    std::string reported;
    char buffer[4096];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) > 0;) reported.append(buffer, static_cast<std::size_t>(n));
    close(fds[0]);
    // Regenerate the vectors the child used (same seed, same order).
    std::mt19937 replay(static_cast<std::uint32_t>(first));
    std::size_t pos = 0;
    int last = first - 5;
    while ((pos = reported.find('\n')) != std::string::npos) {
      last = std::stoi(reported.substr(0, pos));
      reported.erase(0, pos + 1);
    }
    for (int id = first; id <= last + 4; ++id) {
      vectors_by_id["k" + std::to_string(id)] = testing::random_vector(replay, kDim);
      acked.insert("k" + std::to_string(id));
    }
    next = last + 5 + 1000;  // ids after the kill may or may not have been committed

    auto store = VectorStore::open(dir.path(), small_index_options());
    auto c = store->get_collection("c");
    GetRequest g;
    g.include = include_embeddings;
    auto all = c->get(g);
    std::set<std::string> present(all.ids.begin(), all.ids.end());
    for (const auto& id : acked) ASSERT_TRUE(present.count(id)) << "acknowledged " << id << " lost in iteration " << iteration;
    QueryRequest q;
    q.n_results = 1;
    q.embeddings = all.embeddings;
    auto hits = c->query(q);
    for (std::size_t i = 0; i < all.ids.size(); ++i) {
      ASSERT_EQ(hits[i].ids.size(), 1u);
      EXPECT_EQ(hits[i].ids[0], all.ids[i]) << "a live vector must find itself";
      auto known = vectors_by_id.find(all.ids[i]);
      if (known != vectors_by_id.end()) {
        EXPECT_EQ(all.embeddings[i], known->second);
      }
    }
  }
  EXPECT_GT(acked.size(), 20u) << "the child should have acknowledged some writes";
}

}  // namespace
}  // namespace lunadb::vector
