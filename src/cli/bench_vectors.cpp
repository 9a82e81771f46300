// Placeholder: replaced by the component that owns these commands.
#include "cli/commands.hpp"

namespace lunadb::cli {

void register_bench_vectors(CLI::App& bench, Context&) { (void)bench; }

}  // namespace lunadb::cli
