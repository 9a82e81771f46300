// `lunadb memory ...`: the memory engine (docs/memory.md) from the command line: remember, recall,
// forget, reindex, stats, verify [--repair]. Each command opens the memory as `lunadb mcp` and `lunadb
// serve` do (cli/memory_open.hpp), so all three see the same rows, vectors and outbox.

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/memory_open.hpp"
#include "lunadb/error.hpp"
#include "serve/memory_ops.hpp"

namespace lunadb::cli {
namespace {

using memory::Kind;

std::unique_ptr<OpenedMemory> open(Context& context) {
  // No worker: a command applies what it wrote before it exits (remember/forget apply at once),
  // and a background thread would only race the process's exit.
  auto options = memory::options_from(context.settings());
  // `reindex --model NAME`: the configured provider and server, another model.
  options.embedder_for_model = [settings = context.settings()](const std::string& model) {
    Settings with_model = settings;
    if (settings.embedding_provider == EmbeddingProvider::ollama) {
      with_model.ollama_embed_model = model;
    } else {
      with_model.openai_embed_model = model;
    }
    return make_embedder(with_model);
  };
  return open_memory(context.settings(), options);
}

std::string reindex_line(const memory::VerifyKind& k) {
  if (!k.reindex) return "";
  return fmt::format("  reindex in progress: into '{}' with model '{}', rows up to id {} done, {} changed rows to "
                     "catch up (run `lunadb memory reindex` to finish it)\n",
                     k.reindex->collection, k.reindex->model,
                     k.reindex->after_id ? std::to_string(*k.reindex->after_id) : std::string("-"),
                     k.reindex->catch_up);
}

std::string optional_number(const std::optional<double>& value, const char* format) {
  return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

std::string optional_rank(const std::optional<std::size_t>& value) {
  return value ? std::to_string(*value) : std::string("-");
}

// At most `limit` ids on one line, so a large verify stays readable; the count is always exact.
template <typename T>
std::string id_list(const std::vector<T>& ids, std::size_t limit = 20) {
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < limit; ++i) out += (i ? " " : "") + fmt::format("{}", ids[i]);
  if (ids.size() > limit) out += fmt::format(" ... ({} more)", ids.size() - limit);
  return out;
}

void print_report(const memory::VerifyReport& report) {
  for (const auto& k : report.kinds) {
    const char* rows = k.kind == Kind::fact ? "facts" : "episodes";
    std::cout << fmt::format("{:<9} {} rows, {} vectors in '{}' (model '{}', dimension {})\n", rows, k.rows, k.vectors,
                             k.collection.empty() ? std::string("none yet") : k.collection, k.model,
                             k.dimension ? std::to_string(*k.dimension) : std::string("-"));
    std::cout << reindex_line(k);
    if (!k.missing.empty())
      std::cout << fmt::format("  {} {} without a vector: {}\n", k.missing.size(), rows, id_list(k.missing));
    if (!k.orphans.empty())
      std::cout << fmt::format("  {} vectors without a row: {}\n", k.orphans.size(), id_list(k.orphans));
    if (!k.wrong_model.empty())
      std::cout << fmt::format("  {} vectors from another model than '{}': {}\n", k.wrong_model.size(), k.model,
                               id_list(k.wrong_model));
  }
  if (report.pending > 0)
    std::cout << fmt::format("{} outbox entries pending (their vectors are on the way, not counted as problems)\n",
                             report.pending);
}

void register_remember(CLI::App& group, Context& context) {
  struct Options {
    std::string text;
    std::string category = "general";
    double importance = 0.5;
    bool is_private = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand("remember", "Store a fact; print its id, whether its vector is made, and "
                                                       "near-duplicates among active facts of its category");
  command->add_option("text", options->text, "The fact")->required();
  command->add_option("--category", options->category, "Category (default general)");
  command->add_option("--importance", options->importance, "0..1 (default 0.5)")->check(CLI::Range(0.0, 1.0));
  command->add_flag("--private", options->is_private, "Mark the fact private");
  command->callback([&context, options] {
    auto opened = open(context);
    store::Fact fact;
    fact.content = options->text;
    fact.category = options->category;
    fact.importance = options->importance;
    fact.is_private = options->is_private;
    fact.source = "explicit";
    auto result = opened->memory->remember(fact);
    std::cout << fmt::format("fact {}\n", result.fact.id);
    std::cout << (result.vector_pending ? "vector pending (the embedding server did not answer; the outbox keeps it)\n"
                                        : "vector applied\n");
    for (const auto& near : result.near_duplicates)
      std::cout << fmt::format("near-duplicate fact {} (similarity {:.3f}): {}\n", near.fact_id, near.similarity,
                               near.content);
  });
}

void register_recall(CLI::App& group, Context& context) {
  struct Options {
    std::string query;
    std::optional<std::size_t> k;
    std::optional<std::string> category;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand("recall", "Find facts by meaning and words; print them with the scores "
                                                     "that ranked them (docs/memory.md, Scoring)");
  command->add_option("query", options->query, "What to look for")->required();
  command->add_option("-k,--k", options->k, "How many (default MEMORY_RETRIEVAL_COUNT)")->check(CLI::Range(1, 1000));
  command->add_option("--category", options->category, "Only this category");
  command->add_flag("--json", options->json, "Print JSON (the shape of the MCP / HTTP recall operation)");
  command->callback([&context, options] {
    auto opened = open(context);
    if (options->json) {
      // The same operation MCP and HTTP run, so the three JSON shapes cannot drift apart.
      nlohmann::json arguments = {{"query", options->query}};
      if (options->k) arguments["k"] = *options->k;
      if (options->category) arguments["category"] = *options->category;
      std::cout << serve::run_memory_operation(*opened->memory, "recall", arguments).dump(2) << '\n';
      return;
    }
    memory::RecallOptions recall;
    recall.k = options->k;
    recall.category = options->category;
    auto results = opened->memory->recall(options->query, recall);
    if (results.empty()) {
      std::cout << "no facts found\n";
      return;
    }
    std::cout << fmt::format("{:>6}  {:>8}  {:>5}  {:>6}  {:>5}  {:>7}  {:>6}  {:>5}  {:>5}  {:>5}  {:<12}  {}\n", "id",
                             "score", "v.rk", "v.sim", "k.rk", "k.score", "rrf", "imp", "conf", "rec", "category",
                             "text");
    for (const auto& r : results) {
      const auto& s = r.scores;
      std::cout << fmt::format("{:>6}  {:>8.5f}  {:>5}  {:>6}  {:>5}  {:>7}  {:>6.4f}  {:>5.2f}  {:>5.2f}  {:>5.2f}  {:<12}  {}{}\n",
                               r.id, s.score, optional_rank(s.vector_rank), optional_number(s.vector_similarity, "{:.3f}"),
                               optional_rank(s.keyword_rank), optional_number(s.keyword_score, "{:.3f}"), s.rrf,
                               s.importance_weight, s.confidence_weight, s.recency_weight, r.category, r.text,
                               r.has_vector ? "" : "  (no vector yet)");
    }
  });
}

void register_forget(CLI::App& group, Context& context) {
  struct Options {
    std::optional<std::int64_t> fact;
    std::optional<std::int64_t> conversation;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand("forget", "Delete a fact, or a conversation with everything derived from "
                                                     "it, and their vectors; print the receipt");
  CLI::Option* fact = command->add_option("--fact", options->fact, "The fact's id")->check(CLI::PositiveNumber);
  CLI::Option* conversation =
      command->add_option("--conversation", options->conversation, "The conversation's id")->check(CLI::PositiveNumber);
  fact->excludes(conversation);
  command->callback([&context, options] {
    if (!options->fact && !options->conversation)
      throw Error(ErrorKind::usage, "memory forget: give --fact ID or --conversation ID");
    auto opened = open(context);
    auto receipt = options->fact ? opened->memory->forget_fact(*options->fact)
                                 : opened->memory->forget_conversation(*options->conversation);
    std::cout << fmt::format("forgot {}\n", receipt.what);
    std::cout << fmt::format("  facts {}, episodes {}, messages {}, conversations {}, relationships {}, "
                             "contradiction notes {}, vectors {}\n",
                             receipt.facts, receipt.episodes, receipt.messages, receipt.conversations,
                             receipt.relationships, receipt.contradiction_notes, receipt.vectors);
    std::cout << (receipt.vectors_pending ? "  some vectors are still pending removal (the outbox keeps them)\n"
                                          : "  no vectors pending\n");
    // Nothing matched: the receipt says so, and the exit code lets scripts notice.
    if (receipt.facts + receipt.episodes + receipt.messages + receipt.conversations == 0) {
      std::cerr << "lunadb: nothing to forget for " << receipt.what << '\n';
      throw Exit{kExitFailure};
    }
  });
}

void register_stats(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("stats", "Counts: facts, episodes, vectors per collection, pending outbox "
                                                    "entries, each collection's model and dimension");
  command->callback([&context] {
    auto opened = open(context);
    auto stats = opened->memory->stats();
    std::cout << fmt::format("facts     {}\n", stats.facts);
    std::cout << fmt::format("episodes  {}\n", stats.episodes);
    std::cout << fmt::format("pending   {} outbox entries\n", stats.pending);
    for (const auto& k : stats.collections) {
      std::cout << fmt::format("{:<9} collection '{}': {} vectors, model '{}', dimension {}\n",
                               k.kind == Kind::fact ? "facts" : "episodes",
                               k.collection.empty() ? std::string("none yet") : k.collection, k.vectors, k.model,
                               k.dimension ? std::to_string(*k.dimension) : std::string("-"));
      std::cout << reindex_line(k);
    }
  });
}

void register_reindex(CLI::App& group, Context& context) {
  struct Options {
    std::optional<std::string> collection;
    std::optional<std::string> model;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand(
      "reindex", "Rebuild a collection's vectors from the rows (after the vector store was lost, or to move to "
                 "another embedding model); resumes an interrupted reindex when run again");
  command->add_option("--collection", options->collection, "luna_facts or luna_episodes (default both)")
      ->check(CLI::IsMember({std::string(memory::kFactsCollection), std::string(memory::kEpisodesCollection)}));
  command->add_option("--model", options->model,
                      "The embedding model to move to (default: the one of an interrupted reindex, else "
                      "OLLAMA_EMBED_MODEL / OPENAI_EMBED_MODEL)");
  command->callback([&context, options] {
    auto opened = open(context);
    memory::ReindexOptions reindex;
    // Progress only for a person watching: a pipe or a log gets the summary lines alone.
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    if (terminal) {
      reindex.progress = [](const memory::ReindexProgress& p) {
        const double percent = p.total ? 100.0 * static_cast<double>(p.done) / static_cast<double>(p.total) : 100.0;
        std::cerr << fmt::format("\r{} -> '{}' ({}): {}/{} rows ({:.0f}%){}", p.kind == Kind::fact ? "facts" : "episodes",
                                 p.collection, p.model, p.done, p.total, percent, p.switched ? ", switched\n" : "")
                  << std::flush;
      };
    }
    auto results = opened->memory->reindex(options->collection, options->model, reindex);
    for (const auto& r : results) {
      std::cout << fmt::format("{}: {} rows embedded with '{}' into '{}'{}", r.kind == Kind::fact ? "facts" : "episodes",
                               r.embedded, r.to_model, r.to_collection,
                               r.resumed ? fmt::format(" (resumed after row {})",
                                                       r.resumed_after ? std::to_string(*r.resumed_after) : "none")
                                         : std::string())
                << '\n';
      std::cout << fmt::format("  {} rows changed during the reindex were caught up\n", r.caught_up);
      std::cout << fmt::format("  switched from '{}' (model '{}') to '{}' (model '{}', dimension {}); {} rows\n",
                               r.from_collection, r.from_model, r.to_collection, r.to_model,
                               r.dimension ? std::to_string(*r.dimension) : std::string("-"), r.total);
      if (r.dropped_old) std::cout << fmt::format("  deleted the old collection '{}'\n", r.from_collection);
    }
    // Entries that waited for this model (the configured one was changed before the reindex) can
    // be applied now.
    auto stats = opened->memory->process_pending();
    if (stats.pending > 0)
      std::cout << fmt::format("{} outbox entries still pending: {}\n", stats.pending, stats.last_error);
  });
}

void register_verify(CLI::App& group, Context& context) {
  auto repair = std::make_shared<bool>(false);
  CLI::App* command = group.add_subcommand(
      "verify", "Compare rows with vectors: rows without vectors, vectors without rows, vectors of another model "
                "than the collection's; exit 1 when anything is found (0 after a successful --repair)");
  command->add_flag("--repair", *repair,
                    "Fix what is found: re-embed missing and wrong-model rows through the outbox, delete orphan "
                    "vectors, then check again");
  command->callback([&context, repair] {
    auto opened = open(context);
    auto report = opened->memory->verify();
    print_report(report);
    if (report.clean()) {
      std::cout << "ok: every row has its vector and every vector its row\n";
      return;
    }
    if (!*repair) {
      std::cout << "problems found: run `lunadb memory verify --repair`\n";
      throw Exit{kExitFailure};
    }
    std::cout << "repairing...\n";
    auto after = opened->memory->repair();
    print_report(after);
    if (!after.clean()) {
      std::cout << "problems remain after the repair\n";
      throw Exit{kExitFailure};
    }
    std::cout << "repaired: every row has its vector and every vector its row\n";
  });
}

}  // namespace

void register_memory_commands(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("memory", "The memory engine: remember, recall, forget, reindex, stats, verify");
  group->require_subcommand(1);
  register_remember(*group, context);
  register_recall(*group, context);
  register_forget(*group, context);
  register_reindex(*group, context);
  register_stats(*group, context);
  register_verify(*group, context);
}

}  // namespace lunadb::cli
