// Many writers on one SQLite file: threads of one process, and separate processes.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <thread>

#include "store_fixture.hpp"

namespace lunadb::store_test {
namespace {

class StoreConcurrency : public StoreTest {
 protected:
  // Inserts `singles` messages one per transaction and `batches` batches of `batch_size`, each
  // tagged "<writer>:<n>".
  static void write_messages(store::Store& store, std::int64_t conversation_id, const std::string& writer, int singles,
                             int batches, int batch_size) {
    int n = 0;
    for (int i = 0; i < singles; ++i) {
      store::Message m;
      m.conversation_id = conversation_id;
      m.role = "user";
      m.content = writer + ":" + std::to_string(n++);
      store.messages().add(m);
    }
    for (int b = 0; b < batches; ++b) {
      std::vector<store::Message> batch(batch_size);
      for (auto& m : batch) {
        m.role = "assistant";
        m.content = writer + ":" + std::to_string(n++);
      }
      store.messages().add_many(conversation_id, batch);
    }
  }

  void expect_all_present(std::int64_t conversation_id, const std::vector<std::string>& writers, int per_writer) {
    std::set<std::string> contents;
    for (const auto& m : db().messages().for_conversation(conversation_id)) contents.insert(m.content);
    const auto expected_total = static_cast<std::int64_t>(writers.size()) * per_writer;
    EXPECT_EQ(static_cast<std::int64_t>(contents.size()), expected_total);
    for (const auto& writer : writers) {
      for (int i = 0; i < per_writer; ++i) {
        EXPECT_TRUE(contents.count(writer + ":" + std::to_string(i))) << writer << ":" << i << " is missing";
      }
    }
    EXPECT_EQ(db().conversations().get(conversation_id)->message_count, expected_total);
    EXPECT_EQ(count_rows("messages"), expected_total);
  }
};

TEST_P(StoreConcurrency, EightThreadsInsertIntoOneConversation) {
  constexpr int kThreads = 8, kSingles = 60, kBatches = 4, kBatchSize = 25;
  const auto conversation_id = db().conversations().add({}).id;
  std::vector<std::string> errors(kThreads);
  std::vector<std::string> writers;
  for (int t = 0; t < kThreads; ++t) writers.push_back("thread" + std::to_string(t));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        write_messages(db(), conversation_id, writers[t], kSingles, kBatches, kBatchSize);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
  expect_all_present(conversation_id, writers, kSingles + kBatches * kBatchSize);
}

TEST_P(StoreConcurrency, FourProcessesAndTheParentInsertIntoOneFile) {
  constexpr int kChildren = 4, kSingles = 40, kBatches = 3, kBatchSize = 20;
  // Forks first, while this process has no threads; each child opens its own store.
  const auto conversation_id = db().conversations().add({}).id;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      int status = 0;
      try {
        auto source = sql::make_connection_source(settings_);
        store::Store child_store(*source);
        write_messages(child_store, conversation_id, "process" + std::to_string(c), kSingles, kBatches, kBatchSize);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", c, e.what());
        status = 1;
      } catch (...) {
        status = 2;
      }
      std::fflush(stderr);
      _exit(status);  // no gtest teardown and no destructors of the parent's objects in the child
    }
    children.push_back(pid);
  }
  std::string parent_error;
  try {
    write_messages(db(), conversation_id, "parent", kSingles, kBatches, kBatchSize);
  } catch (const std::exception& e) {
    parent_error = e.what();
  }
  for (int c = 0; c < kChildren; ++c) {
    int status = -1;
    ASSERT_EQ(waitpid(children[c], &status, 0), children[c]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << c << " status " << status;
  }
  EXPECT_EQ(parent_error, "");
  std::vector<std::string> writers{"parent"};
  for (int c = 0; c < kChildren; ++c) writers.push_back("process" + std::to_string(c));
  expect_all_present(conversation_id, writers, kSingles + kBatches * kBatchSize);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConcurrency, ::testing::ValuesIn(store_backends()), backend_name);

}  // namespace
}  // namespace lunadb::store_test
