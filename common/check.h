#pragma once
// KILN_CHECK: for invariants only (never for input or network failures). On failure it
// prints the condition, the place and a message to stderr and aborts.
// (Debian 12's Abseil predates absl/log and its CHECK.)

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kiln::internal {
[[noreturn]] inline void CheckFailed(const char* cond, const char* file, int line,
                                     std::string_view message) {
  std::fprintf(stderr, "%s:%d: check failed: %s %.*s\n", file, line, cond,
               static_cast<int>(message.size()), message.data());
  std::abort();
}
}  // namespace kiln::internal

#define KILN_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) ::kiln::internal::CheckFailed(#cond, __FILE__, __LINE__, "" __VA_ARGS__); \
  } while (0)
