// The pgvector backend under faults and load, directly and through pgbouncer in transaction mode:
// a server backend terminated in the middle of a batch add, and several processes of several
// threads adding and querying one collection at once.

#include <gtest/gtest.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "support/servers.hpp"
#include "support/vector_backends.hpp"

namespace lunadb::vector {
namespace {

// The same vector for the same id in every process, so that any process can check any record.
std::vector<float> vector_for(const std::string& id, std::size_t dimension) {
  std::mt19937 rng(static_cast<std::uint32_t>(std::hash<std::string>{}(id)));
  std::normal_distribution<float> normal;
  std::vector<float> v(dimension);
  for (auto& x : v) x = normal(rng);
  return v;
}

Record record_for(const std::string& id, std::size_t dimension, std::int64_t n) {
  return {id, vector_for(id, dimension), "document " + id, Json{{"n", n}}};
}

std::set<std::string> stored_ids(const Collection& c, const std::vector<std::string>& ids) {
  GetRequest g;
  g.ids = ids;
  g.include = 0;
  auto got = c.get(g);
  return {got.ids.begin(), got.ids.end()};
}

// Why `id` does not find itself as the nearest record (empty when it does).
std::string self_query_failure(const Collection& c, const std::string& id, std::size_t dimension) {
  QueryRequest q;
  q.embeddings = {vector_for(id, dimension)};
  q.n_results = 1;
  auto hits = c.query(q).at(0);
  if (hits.ids.empty()) return id + ": the self-query found nothing";
  if (hits.ids[0] != id) return id + ": the self-query found " + hits.ids[0];
  return "";
}

class PgvectorFaults : public ::testing::TestWithParam<test::VectorBackendKind> {};

// pg_terminate_backend from a second connection (what an administrator, a failover or a pooler
// restart does) on the backend running a 20k-record add, while its rows stream in: the add fails with a retryable error,
// the batch is all there or absent, never partly, and the same add on the same store then succeeds.
TEST_P(PgvectorFaults, BackendTerminatedDuringABatchAddLeavesAllOrNothingAndARetrySucceeds) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  constexpr std::size_t kDimension = 16;
  constexpr int kRecords = 20000;
  auto store = backend.open();
  CollectionConfig config;
  config.name = "terminated";
  config.dimension = kDimension;
  auto c = store->create_collection(config);
  std::vector<Record> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < kRecords; ++i) {
    ids.push_back("t" + std::to_string(i));
    batch.push_back(record_for(ids.back(), kDimension, i));
  }

  auto killer_connection = backend.database()->connect();
  std::atomic<bool> add_returned{false};
  std::atomic<std::int64_t> terminated_pid{0};
  std::string killer_error;
  std::thread killer([&] {
    try {
      // The add's COPY builds HNSW entries for 20k rows: seconds, so the kill lands inside it.
      while (!add_returned && terminated_pid == 0) {
        auto running = killer_connection->prepare(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() "
            "AND (query LIKE 'COPY %lunadb_vectors_%' OR query LIKE 'INSERT INTO lunadb_vectors_%')");
        if (running->step()) {
          const auto pid = running->get_int64(0);
          running.reset();
          auto terminate = killer_connection->prepare("SELECT pg_terminate_backend(?::integer)");
          terminate->bind(1, pid);
          terminate->step();
          terminated_pid = pid;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
    } catch (const std::exception& e) {
      killer_error = e.what();
    }
  });
  std::optional<DatabaseError> failure;
  try {
    c->add(batch);
  } catch (const DatabaseError& e) {
    failure = e;
  }
  add_returned = true;
  killer.join();
  ASSERT_EQ(killer_error, "");
  ASSERT_NE(terminated_pid.load(), 0) << "the add's COPY was never seen running";
  ASSERT_TRUE(failure) << "the add succeeded although its backend was terminated";
  EXPECT_TRUE(failure->retryable()) << failure->what();
  EXPECT_EQ(failure->kind(), ErrorKind::connection) << failure->what();
  EXPECT_FALSE(failure->connection_usable()) << failure->what();
  // 57P01 admin_shutdown from the server directly; pgbouncer reports its lost server link as 08P01.
  EXPECT_TRUE(failure->native_code() == "57P01" || failure->native_code().rfind("08", 0) == 0) << failure->native_code();

  const std::size_t present = stored_ids(*c, ids).size();
  EXPECT_EQ(present, c->count());
  ASSERT_TRUE(present == 0 || present == ids.size()) << present << " of " << ids.size() << " records of the batch were written";
  if (present == ids.size()) {
    // The commit outran the kill: the retry must then refuse, writing nothing twice.
    EXPECT_THROW(c->add(batch), Error);
  } else {
    ASSERT_NO_THROW(c->add(batch));  // on a fresh pooled connection; the lost one was discarded
  }
  EXPECT_EQ(c->count(), ids.size());
  EXPECT_EQ(stored_ids(*c, ids).size(), ids.size());
  for (int i : {0, kRecords / 2, kRecords - 1}) EXPECT_EQ(self_query_failure(*c, ids[static_cast<std::size_t>(i)], kDimension), "");
}

INSTANTIATE_TEST_SUITE_P(Servers, PgvectorFaults,
                         ::testing::Values(test::VectorBackendKind::pgvector, test::VectorBackendKind::pgvector_pgbouncer),
                         [](const auto& param_info) { return test::backend_name(param_info.param); });

// 4 processes of 8 threads each add batches to one collection and, after each add, read their own
// records back; once every process has finished adding, each process checks every record of every
// process by id and by self-query. Then the parent checks that nothing was lost or duplicated.
// Bounded to finish well within a minute under ThreadSanitizer.
class PgvectorConcurrency : public ::testing::TestWithParam<test::VectorBackendKind> {};

constexpr int kProcesses = 4, kThreads = 8, kBatches = 5, kBatchSize = 8;
constexpr std::size_t kConcurrentDimension = 16;

std::string concurrent_id(int process, int thread, int batch, int item) {
  return "p" + std::to_string(process) + "-t" + std::to_string(thread) + "-b" + std::to_string(batch) + "-" + std::to_string(item);
}

std::vector<std::string> all_concurrent_ids() {
  std::vector<std::string> ids;
  for (int p = 0; p < kProcesses; ++p)
    for (int t = 0; t < kThreads; ++t)
      for (int b = 0; b < kBatches; ++b)
        for (int i = 0; i < kBatchSize; ++i) ids.push_back(concurrent_id(p, t, b, i));
  return ids;
}

// Runs `work(thread)` on kThreads threads; the first error of each thread, joined.
std::string on_threads(const std::function<std::string(int)>& work) {
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        errors[static_cast<std::size_t>(t)] = work(t);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = std::string("thread ") + std::to_string(t) + ": " + e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::string joined;
  for (const auto& e : errors)
    if (!e.empty()) joined += e + "\n";
  return joined;
}

std::string add_and_read_back(Collection& c, int process) {
  return on_threads([&](int thread) -> std::string {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Record> batch;
      std::vector<std::string> ids;
      for (int i = 0; i < kBatchSize; ++i) {
        ids.push_back(concurrent_id(process, thread, b, i));
        batch.push_back(record_for(ids.back(), kConcurrentDimension, b));
      }
      c.add(batch);
      if (stored_ids(c, ids).size() != ids.size()) return ids[0] + ": an acknowledged batch is not all there";
      if (auto why = self_query_failure(c, ids[static_cast<std::size_t>(b % kBatchSize)], kConcurrentDimension); !why.empty()) return why;
    }
    return "";
  });
}

std::string check_everything(const Collection& c) {
  const auto ids = all_concurrent_ids();
  if (stored_ids(c, ids).size() != ids.size()) return "another process's acknowledged records are missing";
  return on_threads([&](int thread) -> std::string {
    for (std::size_t i = static_cast<std::size_t>(thread); i < ids.size(); i += kThreads) {
      if (auto why = self_query_failure(c, ids[i], kConcurrentDimension); !why.empty()) return why;
    }
    return "";
  });
}

TEST_P(PgvectorConcurrency, FourProcessesOfEightThreadsAddAndQueryOneCollection) {
  test::VectorBackendFixture backend(GetParam());
  LUNADB_REQUIRE_BACKEND(backend);
  CollectionConfig config;
  config.name = "shared-load";
  config.dimension = kConcurrentDimension;
  config.index.ef_search = 64;
  backend.open()->create_collection(config);  // closed again: no connection crosses the fork

  struct Child {
    pid_t pid;
    int done_adding;  // read end: the child writes one byte when its adds are acknowledged
    int may_check;    // write end: the parent writes one byte when every child is done adding
  };
  std::vector<Child> children;
  for (int p = 0; p < kProcesses; ++p) {
    int to_parent[2], to_child[2];
    ASSERT_EQ(pipe(to_parent), 0);
    ASSERT_EQ(pipe(to_child), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      close(to_parent[0]);
      close(to_child[1]);
      std::string error;
      try {
        auto store = backend.open();
        auto c = store->get_collection(config.name);
        error = add_and_read_back(*c, p);
        char byte = 'a';
        if (write(to_parent[1], &byte, 1) != 1) error += "cannot tell the parent\n";
        if (read(to_child[0], &byte, 1) != 1) error += "the parent went away\n";
        if (error.empty()) error = check_everything(*c);
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (!error.empty()) std::fprintf(stderr, "process %d:\n%s\n", p, error.c_str());
      std::fflush(stderr);
      _exit(error.empty() ? 0 : 1);  // no gtest teardown and no destructors of the parent's objects in the child
    }
    close(to_parent[1]);
    close(to_child[0]);
    children.push_back({pid, to_parent[0], to_child[1]});
  }
  // A child that failed before it finished adding closes its pipe: read() returns 0 and the others
  // are released anyway, so that they exit and report.
  for (const auto& child : children) {
    char byte;
    EXPECT_EQ(read(child.done_adding, &byte, 1), 1) << "process " << child.pid << " failed while adding";
  }
  for (const auto& child : children) {
    const char byte = 'c';
    EXPECT_EQ(write(child.may_check, &byte, 1), 1);
    close(child.may_check);
    close(child.done_adding);
  }
  for (const auto& child : children) {
    int status = -1;
    ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "process " << child.pid << " status " << status;
  }

  auto store = backend.open();
  auto c = store->get_collection(config.name);
  const auto ids = all_concurrent_ids();
  EXPECT_EQ(c->count(), ids.size()) << "records lost or duplicated";
  GetRequest everything;
  everything.include = include_embeddings;
  auto got = c->get(everything);
  ASSERT_EQ(got.ids.size(), ids.size());
  EXPECT_EQ(std::set<std::string>(got.ids.begin(), got.ids.end()), std::set<std::string>(ids.begin(), ids.end()));
  for (std::size_t i = 0; i < got.ids.size(); ++i) {
    ASSERT_EQ(got.embeddings[i], vector_for(got.ids[i], kConcurrentDimension)) << got.ids[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, PgvectorConcurrency,
                         ::testing::Values(test::VectorBackendKind::pgvector, test::VectorBackendKind::pgvector_pgbouncer),
                         [](const auto& param_info) { return test::backend_name(param_info.param); });

}  // namespace
}  // namespace lunadb::vector
