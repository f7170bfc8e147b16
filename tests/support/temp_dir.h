// A temporary directory for one test: created fresh (mkdtemp under the system's temp folder), removed
// with everything in it when the object goes out of scope. With OPTROLLUP_KEEP_TEMP set (to anything but
// "0") it is kept, and its path is printed on stderr, so the logs and data of a failed run can be read.
#pragma once

#include <string>
#include <string_view>

namespace opt::test {

class TempDir {
 public:
  // `prefix` names the folder (prefix.XXXXXX) so a kept one tells which test left it. Throws
  // std::runtime_error if the folder cannot be made.
  explicit TempDir(std::string_view prefix = "optrollup-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory (not created).
  std::string file(const std::string& name) const;

  // Whether OPTROLLUP_KEEP_TEMP asks to keep temporary directories.
  static bool keep_requested();

 private:
  std::string path_;
};

}  // namespace opt::test
