#include "tests/support/temp_dir.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace opt::test {

TempDir::TempDir(std::string_view prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::system_category().message(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (keep_requested()) {
    std::fprintf(stderr, "kept temporary directory %s (OPTROLLUP_KEEP_TEMP)\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name) const {
  return (std::filesystem::path(path_) / name).string();
}

bool TempDir::keep_requested() {
  const char* v = std::getenv("OPTROLLUP_KEEP_TEMP");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

}  // namespace opt::test
