#pragma once
// How a Kiln process's allocator keeps freed memory, and gives it back when the process
// nears its memory limit.
//
// With jemalloc (the default build links it into drivers and executors), allocations of
// 8 MiB and more would go to an arena of their own whose freed pages go back to the
// kernel at once (jemalloc's `oversize_threshold`): every hash table, sort buffer or
// join table a task frees is then faulted in again, zeroed, by the next one (PageRank
// spent a sixth of its CPU time in the kernel on those faults and madvise calls,
// bench/README.md item 19). Kiln sets
// `oversize_threshold:0` in jemalloc's built-in `malloc_conf`, so large blocks are kept
// for reuse like small ones and returned after jemalloc's decay time (10 s); the
// MALLOC_CONF environment variable still overrides it. A process that keeps memory for
// reuse uses more of its limit, so `ResidentBytesReleasing` hands the kept memory back
// when the resident set passes half the process's limit: the executor checks it every
// 20 ms, the local-mode driver every 50 ms (reading /proc/self/statm takes microseconds).
//
// Thread-safe.

#include <cstdint>

#include "absl/status/statusor.h"

namespace kiln::runtime {

// True when the allocator keeps freed blocks of every size for reuse: jemalloc with
// `oversize_threshold:0` (unless MALLOC_CONF set it otherwise).
bool AllocatorKeepsLargeBlocks();

// Returns the memory the allocator keeps for reuse to the kernel (jemalloc: purges every
// arena; glibc's malloc: malloc_trim).
void ReleaseFreeMemory();

// This process's resident set size. When it is above `threshold` bytes, the allocator's
// free memory is released first and the size read again.
absl::StatusOr<int64_t> ResidentBytesReleasing(int64_t threshold);

// Where ResidentBytesReleasing starts releasing for a process held to `limit` bytes: half
// of it. A process that spills keeps well under it (managed memory is 60% of what is
// left after 300 MiB, and the limit adds the overhead); what jemalloc keeps for reuse
// may take it past, and the kernel's limit must stay out of reach between two checks.
inline int64_t ReleaseThreshold(int64_t limit) { return limit / 2; }

}  // namespace kiln::runtime
