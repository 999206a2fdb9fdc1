#pragma once
// The names of cached blocks, and what evicting one hands back to the caller.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace kiln::runtime {

struct BlockId {
  int dataset = 0;
  int partition = 0;

  std::string Name() const;  // "rdd_<dataset>_<partition>"
  friend bool operator==(const BlockId&, const BlockId&) = default;
  template <class H>
  friend H AbslHashValue(H h, const BlockId& id) {
    return H::combine(std::move(h), id.dataset, id.partition);
  }
};

// Writes an evicted block to disk; true when it is there (then registered).
using SpillFn = std::function<bool(BlockId, const std::shared_ptr<const void>&)>;

struct Evicted {
  BlockId id;
  std::shared_ptr<const void> data;
  SpillFn spill;  // empty: the block is dropped
  int64_t bytes = 0;
};

}  // namespace kiln::runtime
