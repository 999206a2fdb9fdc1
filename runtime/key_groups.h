#pragma once
// KeyGroups: the reduce side of group_by_key and cogroup. Records are added to their
// key's group G in a combine map under the task's execution memory; a map that cannot
// grow is spilled as a hashed run, and at the end the runs and the map are merged so
// that each key's group comes out once, whole. A single group that does not fit in the
// task's memory fails the task, naming the key's hash.
//
// G is std::vector<V> (group_by_key: every value of a key) or a std::pair of such
// vectors (cogroup: a key's values from each side), in arrival (map-id) order.

#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/memory_size.h"
#include "runtime/combine_map.h"
#include "runtime/combine_spill.h"
#include "runtime/operator.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {

// Appends `value` to `values`; returns how much the heap memory they own grew.
template <class V>
int64_t PushValue(std::vector<V>& values, V&& value) {
  const int64_t before = static_cast<int64_t>(values.capacity() * sizeof(V));
  const auto owned = static_cast<int64_t>(HeapBytes<V>::Of(value));
  values.push_back(std::move(value));
  return owned + static_cast<int64_t>(values.capacity() * sizeof(V)) - before;
}

// The groups' parts, for both forms of G.
template <class V>
void AppendGroup(std::vector<V>& into, std::vector<V>&& next) {
  into.insert(into.end(), std::make_move_iterator(next.begin()),
              std::make_move_iterator(next.end()));
}
template <class A, class B>
void AppendGroup(std::pair<A, B>& into, std::pair<A, B>&& next) {
  AppendGroup(into.first, std::move(next.first));
  AppendGroup(into.second, std::move(next.second));
}
template <class V>
int64_t GroupBytes(const std::vector<V>& values) {
  int64_t bytes = 0;
  for (const V& v : values) bytes += static_cast<int64_t>(MemoryBytes(v));
  return bytes;
}
template <class A, class B>
int64_t GroupBytes(const std::pair<A, B>& group) {
  return GroupBytes(group.first) + GroupBytes(group.second);
}
template <class V>
size_t GroupSize(const std::vector<V>& values) {
  return values.size();
}
template <class A, class B>
size_t GroupSize(const std::pair<A, B>& group) {
  return group.first.size() + group.second.size();
}

template <class K, class G>
class KeyGroups {
 public:
  // `op`: the operator, named in the error of a group too large.
  explicit KeyGroups(const char* op) : op_(op) {}

  // Adds to `key`'s group: add(G&) appends to it and returns how much the heap memory
  // the group owns grew.
  template <class F>
  absl::Status Add(TaskContext& ctx, K& key, F add) {
    HashedRef<K> ref{&key, KeyHash<K>()(key)};
    auto [it, inserted] = map_.try_emplace(ref);
    if (inserted) heap_bytes_ += static_cast<int64_t>(HeapBytes<K>::Of(it->first.key));
    heap_bytes_ += add(it->second);
    const int64_t bytes = TableBytes(map_) + heap_bytes_;
    if (budget_.Cover(ctx, bytes)) return absl::OkStatus();
    absl::StatusOr<std::string> run = SpillCombineMap(ctx, map_, bytes);
    if (!run.ok()) return run.status();
    runs_.push_back(*std::move(run));
    CombineMap<K, G>().swap(map_);
    heap_bytes_ = 0;
    budget_.Release(ctx);
    return absl::OkStatus();
  }

  // Every key's whole group, once, through emit(const K&, G&); then the memory and the
  // spill files are given back (also on an error).
  template <class Emit>
  absl::Status Finish(TaskContext& ctx, Emit emit) {
    absl::Status s;
    if (runs_.empty()) {
      for (const auto& entry : InHashOrder(map_)) {
        s = emit(*entry.key, *entry.value);
        if (!s.ok()) break;
      }
    } else {
      budget_.Release(ctx);  // the merge holds one group at a time
      int64_t group_bytes = 0;
      s = MergeCombined<K, G>(
          ctx, runs_, map_,
          [&](G& into, G&& next, uint64_t hash, bool first) {
            if (first) group_bytes = GroupBytes(into);
            group_bytes += GroupBytes(next);
            AppendGroup(into, std::move(next));
            if (budget_.Cover(ctx, group_bytes)) return absl::OkStatus();
            return GroupTooLarge(op_, ctx.partition, hash, GroupSize(into), group_bytes,
                                 budget_.acquired());
          },
          [&](const K& key, uint64_t, G& group) { return emit(key, group); });
    }
    Abandon(ctx);
    return s;
  }

  // Gives back the memory and the spill files.
  void Abandon(TaskContext& ctx) {
    for (const std::string& run : runs_) ctx.spills->Remove(run);
    runs_.clear();
    CombineMap<K, G>().swap(map_);
    heap_bytes_ = 0;
    budget_.Release(ctx);
  }

 private:
  const char* const op_;
  CombineMap<K, G> map_;
  int64_t heap_bytes_ = 0;  // what the map's keys and groups own
  ExecutionBudget budget_;
  std::vector<std::string> runs_;
};

}  // namespace kiln::runtime
