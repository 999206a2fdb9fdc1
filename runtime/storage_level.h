#pragma once
// kiln::StorageLevel: where Dataset::persist keeps partitions (Spark's StorageLevel, its
// deserialized in-memory levels and DISK_ONLY).

#include <cstdint>

namespace kiln {

enum class StorageLevel : uint8_t {
  kMemoryOnly = 0,     // cache(): in memory; a partition that does not fit is recomputed
  kMemoryAndDisk = 1,  // in memory, on the executor's disk what does not fit or is evicted
  kDiskOnly = 2,       // encoded on the executor's disk
};

// Spark's name of the level: "MEMORY_ONLY", "MEMORY_AND_DISK", "DISK_ONLY".
inline const char* StorageLevelName(StorageLevel level) {
  switch (level) {
    case StorageLevel::kMemoryOnly:
      return "MEMORY_ONLY";
    case StorageLevel::kMemoryAndDisk:
      return "MEMORY_AND_DISK";
    case StorageLevel::kDiskOnly:
      return "DISK_ONLY";
  }
  return "UNKNOWN";
}

}  // namespace kiln
