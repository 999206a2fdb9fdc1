#pragma once
// The records spill_app generates, shared with the test that checks its output.

#include <cstdint>
#include <string>

#include "common/key_hash.h"

namespace kiln::test {

// Record i of spill_app's sort: a 10-character key from a hash of i, and a 90-byte value.
inline std::string SortKey(int64_t i) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  uint64_t h = MixHash(static_cast<uint64_t>(i));
  std::string key(10, '0');
  for (char& c : key) {
    c = kDigits[h & 31];
    h >>= 5;
  }
  return key;
}
inline std::string SortValue(int64_t i) { return std::string(90, static_cast<char>('a' + i % 26)); }

}  // namespace kiln::test
