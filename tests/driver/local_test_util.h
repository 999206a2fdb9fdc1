#pragma once
// Shared by the local-mode tests of this directory (one test binary): the local[2]
// context they all run on, and input helpers.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "driver/kiln.h"

namespace kiln::test {

// One local[2] application for the whole test binary; failed jobs throw JobFailed.
inline Context& Local() {
  static Context ctx(ContextOptions{.master = "local[2]",
                                    .app_name = "driver-local-tests",
                                    .conf = {"kiln.ui.showConsoleProgress=false"},
                                    .exit_on_failure = false});
  return ctx;
}

template <class T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// 0, 1, ..., n-1.
inline std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace kiln::test
