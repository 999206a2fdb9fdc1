#pragma once
// Spilling combine maps (reduce_by_key's and group_by_key's reduce side): a map that
// cannot grow is written out in hash order as a run, each record with its key's hash;
// at the end, the runs and the map still in memory are merged in (hash, key) order,
// each key's values combined in run order (the order they arrived in), so the output
// is the same records in the same order as with no spill.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/combine_map.h"
#include "runtime/spill_merge.h"

namespace kiln::runtime {

// The error of a group_by_key or cogroup (`op`) whose one key has more values than its
// task can hold.
absl::Status GroupTooLarge(const char* op, int partition, uint64_t hash, size_t values,
                           int64_t bytes, int64_t held);

// Writes the entries of `table` (a CombineMap or a CombineTable) in hash order as a
// hashed run; the run's path.
template <class Table>
absl::StatusOr<std::string> SpillCombineMap(TaskContext& ctx, Table& table, int64_t memory_bytes) {
  return WriteSpill(ctx, memory_bytes, [&](SpillWriter& out) {
    for (const auto& entry : InHashOrder(table)) {
      Writer w(out.buffer());
      EncodeHashed(w, entry.hash, *entry.key, *entry.value);
      absl::Status s = out.Appended();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

// Merges the hashed runs (in the order written) and then `table` (may be null): the values
// of one key are folded with combine(V& into, V&& next, uint64_t hash, bool first) in
// that order (`first`: the first fold into this key's value), and each key comes out
// once through emit(const K&, uint64_t hash, V&), in (hash, key) order.
template <class K, class V, class Table, class Combine, class Emit>
absl::Status MergeHashed(const std::vector<std::string>& runs, Table* table, Combine& combine,
                         Emit emit) {
  using Record = std::pair<K, V>;
  std::vector<std::unique_ptr<RecordCursor<Record>>> cursors;
  absl::Status s = OpenRuns<Record, true>(runs, &cursors);
  if (!s.ok()) return s;
  std::vector<HashedEntry<K, V>> entries;
  if (table != nullptr) entries = InHashOrder(*table);
  size_t next = 0;
  cursors.push_back(MakeMemoryCursor<Record>([&, next](Record* r, uint64_t* hash) mutable {
    if (next == entries.size()) return false;
    const HashedEntry<K, V>& entry = entries[next++];
    r->first = *entry.key;
    r->second = std::move(*entry.value);
    *hash = entry.hash;
    return true;
  }));
  s = cursors.back()->Advance();
  if (!s.ok()) return s;
  auto less = [](RecordCursor<Record>& a, RecordCursor<Record>& b) {
    if (a.hash() != b.hash()) return a.hash() < b.hash();
    return KeyLess(a.record().first, b.record().first);
  };
  bool pending = false;
  bool first = true;
  uint64_t pending_hash = 0;
  Record current;
  s = MergeCursors(cursors, less, [&](RecordCursor<Record>& c) -> absl::Status {
    if (pending && c.hash() == pending_hash && c.record().first == current.first) {
      absl::Status folded =
          combine(current.second, std::move(c.record().second), pending_hash, first);
      first = false;
      return folded;
    }
    if (pending) {
      absl::Status e = emit(current.first, pending_hash, current.second);
      if (!e.ok()) return e;
    }
    current = std::move(c.record());
    pending_hash = c.hash();
    pending = true;
    first = true;
    return absl::OkStatus();
  });
  if (s.ok() && pending) s = emit(current.first, pending_hash, current.second);
  return s;
}

// MergeHashed over every run and `table`, first merging the oldest runs into one while
// there are more than kMaxMergeWidth (NarrowRuns); `runs` is updated to match.
template <class K, class V, class Table, class Combine, class Emit>
absl::Status MergeCombined(TaskContext& ctx, std::vector<std::string>& runs, Table& table,
                           Combine combine, Emit emit) {
  absl::Status s =
      NarrowRuns(ctx, runs, [&](const std::vector<std::string>& some, SpillWriter& out) {
        return MergeHashed<K, V, Table>(some, nullptr, combine,
                                        [&](const K& key, uint64_t hash, V& value) {
                                          Writer w(out.buffer());
                                          EncodeHashed(w, hash, key, value);
                                          return out.Appended();
                                        });
      });
  if (!s.ok()) return s;
  return MergeHashed<K, V>(runs, &table, combine, emit);
}

}  // namespace kiln::runtime
