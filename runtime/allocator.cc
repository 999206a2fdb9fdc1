#include "runtime/allocator.h"

#include <unistd.h>

#include "common/process_memory.h"

#ifdef KILN_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>

#define KILN_STRINGIFY_(x) #x
#define KILN_STRINGIFY(x) KILN_STRINGIFY_(x)

// Read by jemalloc when it starts (before MALLOC_CONF, which overrides it): large blocks
// stay in the thread's arena for reuse instead of going back to the kernel when freed.
const char* malloc_conf = "oversize_threshold:0";
#else
#include <malloc.h>
#endif

namespace kiln::runtime {

bool AllocatorKeepsLargeBlocks() {
#ifdef KILN_WITH_JEMALLOC
  size_t threshold = 1;
  size_t size = sizeof(threshold);
  return mallctl("opt.oversize_threshold", &threshold, &size, nullptr, 0) == 0 && threshold == 0;
#else
  return false;
#endif
}

void ReleaseFreeMemory() {
#ifdef KILN_WITH_JEMALLOC
  mallctl("arena." KILN_STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", nullptr, nullptr, nullptr, 0);
#else
  malloc_trim(0);
#endif
}

absl::StatusOr<int64_t> ResidentBytesReleasing(int64_t threshold) {
  absl::StatusOr<int64_t> rss = ResidentBytes(getpid());
  if (!rss.ok() || *rss <= threshold) return rss;
  ReleaseFreeMemory();
  return ResidentBytes(getpid());
}

}  // namespace kiln::runtime
