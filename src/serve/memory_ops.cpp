#include "serve/memory_ops.hpp"

#include <algorithm>

#include "lunadb/error.hpp"
#include "sql/value.hpp"

namespace lunadb::serve {

namespace {

using Json = nlohmann::json;

Json timestamp_json(const std::optional<Timestamp>& at) {
  return at ? Json(sql::format_timestamp(*at)) : Json();
}

template <typename T>
Json optional_json(const std::optional<T>& value) {
  return value ? Json(*value) : Json();
}

Json fact_json(const store::Fact& fact) {
  return {{"id", fact.id},
          {"category", fact.category},
          {"content", fact.content},
          {"memory_type", fact.memory_type},
          {"importance", fact.importance},
          {"confidence", fact.confidence},
          {"source", fact.source},
          {"source_conversation_id", optional_json(fact.source_conversation_id)},
          {"is_active", fact.is_active},
          {"is_private", fact.is_private},
          {"superseded_by", optional_json(fact.superseded_by)},
          {"created_at", timestamp_json(fact.created_at)},
          {"updated_at", timestamp_json(fact.updated_at)},
          {"last_accessed", timestamp_json(fact.last_accessed)}};
}

Json remember_json(const memory::RememberResult& result) {
  Json near = Json::array();
  for (const auto& candidate : result.near_duplicates)
    near.push_back({{"fact_id", candidate.fact_id}, {"content", candidate.content}, {"similarity", candidate.similarity}});
  return {{"fact", fact_json(result.fact)}, {"vector_pending", result.vector_pending}, {"near_duplicates", near}};
}

Json recall_json(const std::vector<memory::RecallResult>& results) {
  Json out = Json::array();
  for (const auto& r : results) {
    const auto& s = r.scores;
    out.push_back({{"kind", memory::to_string(r.kind)},
                   {"id", r.id},
                   {"text", r.text},
                   {"category", r.category},
                   {"memory_type", r.memory_type},
                   {"importance", r.importance},
                   {"confidence", r.confidence},
                   {"is_active", r.is_active},
                   {"is_private", r.is_private},
                   {"conversation_id", optional_json(r.conversation_id)},
                   {"created_at", timestamp_json(r.created_at)},
                   {"has_vector", r.has_vector},
                   {"scores",
                    {{"vector_rank", optional_json(s.vector_rank)},
                     {"vector_similarity", optional_json(s.vector_similarity)},
                     {"keyword_rank", optional_json(s.keyword_rank)},
                     {"keyword_score", optional_json(s.keyword_score)},
                     {"rrf", s.rrf},
                     {"importance_weight", s.importance_weight},
                     {"confidence_weight", s.confidence_weight},
                     {"recency_weight", s.recency_weight},
                     {"score", s.score}}}});
  }
  return {{"results", out}};
}

Json receipt_json(const memory::ForgetReceipt& receipt) {
  return {{"what", receipt.what},
          {"facts", receipt.facts},
          {"episodes", receipt.episodes},
          {"messages", receipt.messages},
          {"conversations", receipt.conversations},
          {"relationships", receipt.relationships},
          {"contradiction_notes", receipt.contradiction_notes},
          {"vectors", receipt.vectors},
          {"vectors_pending", receipt.vectors_pending},
          {"at", timestamp_json(receipt.at)}};
}

std::optional<std::string> text_argument(const Json& arguments, const char* name) {
  return arguments.contains(name) ? std::optional<std::string>(arguments[name].get<std::string>()) : std::nullopt;
}

const Json unit_interval = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
const Json id_type = {{"type", "integer"}, {"minimum", 1}};

Json remember(memory::Memory& memory, const Json& arguments) {
  store::Fact fact;
  fact.content = arguments["content"].get<std::string>();
  fact.category = arguments.value("category", "general");
  fact.memory_type = arguments.value("memory_type", fact.memory_type);
  fact.importance = arguments.value("importance", fact.importance);
  fact.confidence = arguments.value("confidence", fact.confidence);
  fact.is_private = arguments.value("is_private", false);
  fact.source = arguments.value("source", "explicit");
  if (arguments.contains("conversation_id")) fact.source_conversation_id = arguments["conversation_id"].get<std::int64_t>();
  return remember_json(memory.remember(fact));
}

Json recall(memory::Memory& memory, const Json& arguments) {
  memory::RecallOptions options;
  if (arguments.contains("k")) options.k = arguments["k"].get<std::size_t>();
  options.category = text_argument(arguments, "category");
  options.memory_type = text_argument(arguments, "memory_type");
  if (arguments.value("include_inactive", false)) options.active = std::nullopt;
  if (!arguments.value("include_private", true)) options.is_private = false;
  options.episodes = arguments.value("include_episodes", false);
  if (arguments.contains("half_life_days")) options.half_life_days = arguments["half_life_days"].get<double>();
  return recall_json(memory.recall(arguments["query"].get<std::string>(), options));
}

Json forget(memory::Memory& memory, const Json& arguments) {
  const bool by_fact = arguments.contains("fact_id");
  const bool by_conversation = arguments.contains("conversation_id");
  if (by_fact == by_conversation)
    throw Error(ErrorKind::invalid_argument, "give exactly one of 'fact_id' and 'conversation_id'");
  return receipt_json(by_fact ? memory.forget_fact(arguments["fact_id"].get<std::int64_t>())
                              : memory.forget_conversation(arguments["conversation_id"].get<std::int64_t>()));
}

Json pending(memory::Memory& memory, const Json& arguments) {
  if (arguments.value("apply", false)) {
    const memory::ProcessStats stats = memory.process_pending();
    return {{"applied", stats.applied}, {"removed", stats.removed}, {"failed", stats.failed},
            {"pending", stats.pending}, {"last_error", stats.last_error}};
  }
  return {{"pending", memory.pending_count()}};
}

Json object_schema(Json properties, Json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)},
          {"additionalProperties", false}};
}

}  // namespace

const std::vector<MemoryOperation>& memory_operations() {
  static const std::vector<MemoryOperation> operations{
      {"remember",
       "Stores a fact about the user in long-term memory. Returns the stored fact and any active facts of the same "
       "category that say nearly the same, so you can decide whether one supersedes the other.",
       object_schema({{"content", {{"type", "string"}, {"minLength", 1}, {"description", "the fact, one sentence"}}},
                      {"category", {{"type", "string"}, {"minLength", 1}, {"description", "e.g. preference, family, work"}}},
                      {"memory_type", {{"enum", {"short", "long", "persistent"}}}},
                      {"importance", unit_interval},
                      {"confidence", unit_interval},
                      {"is_private", {{"type", "boolean"}}},
                      {"source", {{"enum", {"explicit", "inferred", "observed"}}}},
                      {"conversation_id", id_type}},
                     {"content"}),
       remember},
      {"recall",
       "Finds the memories most relevant to a query, by meaning and by words. Each result carries the scores that "
       "ranked it.",
       object_schema({{"query", {{"type", "string"}, {"minLength", 1}}},
                      {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
                      {"category", {{"type", "string"}}},
                      {"memory_type", {{"enum", {"short", "long", "persistent"}}}},
                      {"include_inactive", {{"type", "boolean"}}},
                      {"include_private", {{"type", "boolean"}}},
                      {"include_episodes", {{"type", "boolean"}}},
                      {"half_life_days", {{"type", "number"}, {"minimum", 0.001}}}},
                     {"query"}),
       recall},
      {"forget",
       "Forgets one fact, or one conversation with its messages, the facts learned in it, their links, its episode "
       "and all their vectors. Returns a receipt with what was removed.",
       object_schema({{"fact_id", id_type}, {"conversation_id", id_type}}, Json::array()),
       forget},
      {"pending",
       "How many memory changes still wait for their vectors; with apply, applies them now.",
       object_schema({{"apply", {{"type", "boolean"}}}}, Json::array()),
       pending},
  };
  return operations;
}

Json run_memory_operation(memory::Memory& memory, const std::string& name, const Json& arguments) {
  const auto& operations = memory_operations();
  auto operation = std::find_if(operations.begin(), operations.end(), [&](const auto& op) { return op.name == name; });
  if (operation == operations.end()) throw Error(ErrorKind::not_found, "no memory operation '" + name + "'");
  if (std::string fault = check_arguments(operation->input_schema, arguments); !fault.empty())
    throw Error(ErrorKind::invalid_argument, fault);
  return operation->run(memory, arguments);
}

std::vector<McpTool> memory_tools(memory::Memory& memory) {
  std::vector<McpTool> tools;
  for (const MemoryOperation& operation : memory_operations()) {
    if (operation.name == "pending") continue;  // housekeeping, not something a model should call
    tools.push_back({operation.name, operation.description, operation.input_schema,
                     [&memory, &operation](const Json& arguments) { return operation.run(memory, arguments); }});
  }
  return tools;
}

}  // namespace lunadb::serve
