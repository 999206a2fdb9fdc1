#include "tests/support/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/check.h"
#include "common/files.h"
#include "common/strings.h"

namespace kiln::test {
namespace {

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

bool KeepTestDirs() { return EnvSet("KILN_KEEP_TEST_DIRS"); }
bool TestVerbose() { return EnvSet("KILN_TEST_VERBOSE"); }

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  absl::StatusOr<std::string> dir = MakeTempDir(parent, prefix);
  KILN_CHECK(dir.ok(), "cannot create a temporary directory for a test");
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(*dir, ec);
  path_ = ec ? *dir : canonical.string();
}

TempDir::~TempDir() {
  if (KeepTestDirs()) return;
  (void)RemoveAll(path_);
}

std::string TailFile(const std::string& path, int lines) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok() || lines <= 0) return "";
  std::string_view t = *text;
  size_t end = t.size();
  if (end > 0 && t[end - 1] == '\n') --end;
  size_t pos = end;
  for (int n = 0; n < lines && pos > 0; ++n) {
    size_t nl = t.rfind('\n', pos - 1);
    pos = nl == std::string_view::npos ? 0 : nl;
    if (nl == std::string_view::npos) break;
  }
  if (pos > 0) ++pos;  // skip the newline before the first kept line
  return std::string(t.substr(pos));
}

}  // namespace kiln::test
