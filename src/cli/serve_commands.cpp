// `lunadb serve`: ChromaDB's HTTP API v2 over the vector store at CHROMA_PATH (docs/serve.md).

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/memory_open.hpp"
#include "lunadb/error.hpp"
#include "lunadb/serve.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli {

namespace {

struct ServeArguments {
  std::string host;
  int port = -1;
  bool allow_reset = false;
  unsigned threads = 0;
  double target_recall = -1;  // < 0: the store's default
  bool memory = true;
};

// SIGINT/SIGTERM are blocked in every thread and taken by one waiting thread, which asks the
// server to stop: a signal handler could not safely call into the server.
void serve(Context& context, const ServeArguments& arguments) {
  const Settings& settings = context.settings();
  serve::ServeOptions options;
  options.host = arguments.host.empty() ? settings.serve_host : arguments.host;
  options.port = arguments.port >= 0 ? arguments.port : settings.serve_port;
  options.token = settings.serve_token;
  options.allow_reset = arguments.allow_reset;
  options.worker_threads = arguments.threads ? arguments.threads : std::max(16u, 4 * std::thread::hardware_concurrency());

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client closing its connection mid-reply must not kill the server.
  signal(SIGPIPE, SIG_IGN);

  // The request log goes to stderr; stdout carries only the "listening on" line scripts wait for.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("lunadb-serve"));
  vector::OpenOptions open_options;
  if (arguments.target_recall >= 0) open_options.target_recall = arguments.target_recall;
  auto store = vector::VectorStore::open(settings.chroma_path, open_options);
  // The memory's endpoints share this store. A database that cannot hold the memory (not at the
  // head, unreachable) leaves them off with the reason, and the Chroma API serves on.
  std::unique_ptr<OpenedMemory> memory;
  if (arguments.memory) {
    try {
      memory::MemoryOptions memory_options = memory::options_from(settings);
      memory_options.start_worker = true;
      memory = open_memory(settings, memory_options, store.get());
      options.memory = memory->memory.get();
    } catch (const Error& error) {
      options.memory_unavailable = error.what();
      spdlog::warn("lunadb serve: the memory endpoints are off: {}", error.what());
    }
  } else {
    options.memory_unavailable = "lunadb serve was started with --no-memory";
  }
  serve::Server server(*store, options);
  spdlog::info("lunadb serve: ChromaDB API v2 on http://{}:{} over {} (token {}, reset {})", options.host,
               server.port(), settings.chroma_path.string(), options.token.empty() ? "off" : "required",
               options.allow_reset ? "allowed" : "disabled");
  // Other processes that find the store locked go through this server (docs/serve.md).
  serve::write_address_file(settings.chroma_path, serve::local_url(options.host, server.port()));
  // The line tests and scripts wait for (stdout, flushed).
  std::cout << "listening on " << options.host << ":" << server.port() << std::endl;

  std::atomic<bool> finished{false};
  std::thread signal_waiter([&] {
    const timespec poll{0, 100'000'000};
    bool signalled = false;
    while (!finished.load()) {
      if (!signalled) {
        const int received = sigtimedwait(&stop_signals, nullptr, &poll);
        if (received == SIGINT || received == SIGTERM) {
          signalled = true;
          spdlog::info("lunadb serve: signal {}: finishing in-flight requests", received);
        }
      } else {
        // Repeated until run() returns: a stop() that came before the listening loop started
        // would otherwise be lost.
        server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  try {
    server.run();
  } catch (...) {
    finished = true;
    signal_waiter.join();
    serve::remove_address_file(settings.chroma_path);
    throw;
  }
  finished = true;
  signal_waiter.join();
  serve::remove_address_file(settings.chroma_path);
  store->flush();
  spdlog::info("lunadb serve: stopped; index snapshots written");
}

}  // namespace

void register_serve_commands(CLI::App& app, Context& context) {
  auto arguments = std::make_shared<ServeArguments>();
  CLI::App* command = app.add_subcommand(
      "serve", "Serve the vector store at CHROMA_PATH over ChromaDB's HTTP API v2 (chromadb.HttpClient works)");
  command->add_option("--host", arguments->host,
                      "Address to listen on (default LUNADB_SERVE_HOST, 127.0.0.1); other than loopback needs "
                      "LUNADB_SERVE_TOKEN");
  command->add_option("--port", arguments->port, "TCP port (default LUNADB_SERVE_PORT, 8000; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  command->add_flag("--allow-reset", arguments->allow_reset, "Let POST /api/v2/reset delete every collection");
  command->add_flag("!--no-memory", arguments->memory,
                    "Serve only the Chroma API, without the memory endpoints (/api/v2/lunadb/memory/...)");
  command->add_option("--threads", arguments->threads, "Worker threads (default: 4 per core, at least 16)")
      ->check(CLI::Range(1, 1024));
  command->add_option("--target-recall", arguments->target_recall,
                      "Recall@k the search tuner aims for (default 0.99); 0 turns it off, so every query searches "
                      "at the collection's ef_search, as Chroma does")
      ->check(CLI::Range(0.0, 1.0));
  command->callback([&context, arguments] { serve(context, *arguments); });
}

}  // namespace lunadb::cli
