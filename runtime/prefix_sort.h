#pragma once
// Sorting (64-bit key prefix, index) entries, as sort_by_key orders its records and
// combine maps order their keys by hash: an MSD radix sort on the prefix's bytes, most
// significant first, that hands buckets of at
// most kLeafEntries (and entries whose whole prefix ties) to std::sort with the caller's
// full comparison. Random keys split into buckets of a few dozen entries after two or
// three passes, where one std::sort over millions of entries would compare each about
// 21 times; keys that share leading bytes only cost a counting pass per shared byte.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kiln::runtime {

struct PrefixEntry {
  uint64_t prefix;  // orders entries as unsigned integers; ties go to the comparison
  uint32_t index;
};

namespace internal {

inline constexpr size_t kLeafEntries = 64;

// Sorts `entries` (all sharing the prefix's bytes before `byte`) using `scratch`, which
// is as large.
template <class Less>
void SortByPrefixFrom(std::span<PrefixEntry> entries, std::span<PrefixEntry> scratch, int byte,
                      Less& less) {
  while (entries.size() > kLeafEntries && byte < 8) {
    const int shift = 56 - 8 * byte;
    std::array<size_t, 257> starts{};
    for (const PrefixEntry& e : entries) ++starts[((e.prefix >> shift) & 0xff) + 1];
    if (std::find(starts.begin(), starts.end(), entries.size()) != starts.end()) {
      ++byte;  // every entry has this byte alike: nothing to move
      continue;
    }
    for (size_t b = 1; b < starts.size(); ++b) starts[b] += starts[b - 1];
    std::array<size_t, 256> next;
    std::copy(starts.begin(), starts.end() - 1, next.begin());
    for (const PrefixEntry& e : entries) scratch[next[(e.prefix >> shift) & 0xff]++] = e;
    std::copy(scratch.begin(), scratch.end(), entries.begin());
    for (size_t b = 0; b < 256; ++b) {
      const size_t size = starts[b + 1] - starts[b];
      if (size > 1) {
        SortByPrefixFrom(entries.subspan(starts[b], size), scratch.subspan(starts[b], size),
                         byte + 1, less);
      }
    }
    return;
  }
  std::sort(entries.begin(), entries.end(), less);
}

}  // namespace internal

// Sorts `entries` into the order of `less`, which must order entries by prefix first
// (ascending, as unsigned integers) and only then by anything else.
template <class Less>
void SortByPrefix(std::vector<PrefixEntry>& entries, Less less) {
  std::vector<PrefixEntry> scratch(entries.size());
  internal::SortByPrefixFrom(std::span<PrefixEntry>(entries), std::span<PrefixEntry>(scratch), 0,
                             less);
}

}  // namespace kiln::runtime
