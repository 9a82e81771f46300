// `lunadb config` and `lunadb status`.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/status.hpp"

namespace lunadb::cli {

void register_config_commands(CLI::App& app, Context& context) {
  CLI::App* config = app.add_subcommand("config", "Print the resolved settings (passwords and API keys as ***)");
  config->callback([&context] {
    const Settings& settings = context.settings();
    std::size_t width = 0;
    auto described = settings.describe();
    for (const auto& [name, value] : described) width = std::max(width, name.size());
    for (const auto& [name, value] : described) std::cout << fmt::format("{:<{}}  {}\n", name, width, value);
    // Which files the values came from: with Luna's .env + .env.{variant} overlay this is the
    // first thing to check when a value is not the expected one.
    std::vector<std::string> files;
    for (const std::filesystem::path& file : settings.env_files) files.push_back(file.string());
    std::cout << fmt::format("# env files read (later overrides earlier): {}\n",
                             files.empty() ? std::string("none") : fmt::format("{}", fmt::join(files, ", ")));
  });

  CLI::App* status = app.add_subcommand(
      "status", "Backend, database, current revision and rows per table (creates nothing)");
  status->callback([&context] { print_status(context.settings(), std::cout); });
}

}  // namespace lunadb::cli
