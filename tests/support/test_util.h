#pragma once
// Small helpers shared by Kiln's tests: status assertions, a self-removing temp dir,
// and reading the tail of a log file. Not thread-safe (tests use them from one thread).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/kiln_catch.h"

// REQUIRE_OK(status_or_statusor): fails the test (and stops it) with the status's message.
// CHECK_OK: the same, but the test goes on.
#define KILN_STATUS_ASSERT_(macro, expr)                             \
  do {                                                               \
    ::absl::Status kiln_test_status_ = ::kiln::test::ToStatus(expr); \
    INFO(#expr << " -> " << kiln_test_status_.ToString());           \
    macro(kiln_test_status_.ok());                                   \
  } while (0)
#define REQUIRE_OK(expr) KILN_STATUS_ASSERT_(REQUIRE, expr)
#define CHECK_OK(expr) KILN_STATUS_ASSERT_(CHECK, expr)

namespace kiln::test {

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <class T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// The message of a status, as a std::string (for CHECKs on what an error says).
inline std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction
// unless KILN_KEEP_TEST_DIRS is set in the environment. The path is canonical (no
// symlinks), so it can be compared with paths other processes report.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "kiln-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The last `lines` lines of a file ("" if it cannot be read).
std::string TailFile(const std::string& path, int lines);

// True when KILN_KEEP_TEST_DIRS / KILN_TEST_VERBOSE are set (non-empty).
bool KeepTestDirs();
bool TestVerbose();

// True once an assertion of the running Catch2 test case has failed.
bool CurrentTestFailed();

}  // namespace kiln::test
