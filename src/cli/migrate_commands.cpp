// Placeholder: replaced by the component that owns these commands.
#include "cli/commands.hpp"

namespace lunadb::cli {

void register_migrate_commands(CLI::App& app, Context&) { (void)app; }

}  // namespace lunadb::cli
