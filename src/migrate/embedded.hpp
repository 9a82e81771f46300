#pragma once
// The revision files compiled into the binary from migrations/versions (cmake/EmbedMigrations.cmake).

#include <string_view>
#include <vector>

namespace lunadb::migrate {

struct EmbeddedFile {
  std::string_view name;     // file name, e.g. "0001_initial.rev"
  std::string_view content;  // the file's bytes
};

const std::vector<EmbeddedFile>& embedded_revision_files();

}  // namespace lunadb::migrate
