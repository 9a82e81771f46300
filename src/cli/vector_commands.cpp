// Placeholder: replaced by the component that owns these commands.
#include "cli/commands.hpp"

namespace lunadb::cli {

void register_vector_commands(CLI::App& app, Context&) { (void)app; }

}  // namespace lunadb::cli
