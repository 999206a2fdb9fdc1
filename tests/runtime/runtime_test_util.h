#pragma once
// Helpers of the runtime unit tests: a self-removing temp dir and file writing.

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "common/files.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    auto dir = MakeTempDir(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "kiln-runtime-test-");
    REQUIRE(dir.ok());
    path_ = *dir;
  }
  ~ScratchDir() { (void)RemoveAll(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace kiln::runtime::testing
