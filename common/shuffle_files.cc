#include "common/shuffle_files.h"

#include <cstring>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

std::string ShuffleDir(const std::string& app_dir) { return app_dir + "/shuffle"; }

std::string ShuffleDataPath(const std::string& app_dir, int shuffle_id, int map_id) {
  return StrCat(ShuffleDir(app_dir), "/shuffle_", shuffle_id, "_", map_id, ".data");
}

std::string ShuffleIndexPath(const std::string& app_dir, int shuffle_id, int map_id) {
  return StrCat(ShuffleDir(app_dir), "/shuffle_", shuffle_id, "_", map_id, ".index");
}

absl::StatusOr<std::vector<uint64_t>> ReadShuffleIndex(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (bytes.size() % 8 != 0 || bytes.size() < 16) {
    return absl::DataLossError(StrCat("shuffle index ", path, " has a bad size ", bytes.size()));
  }
  std::vector<uint64_t> offsets(bytes.size() / 8);
  std::memcpy(offsets.data(), bytes.data(), bytes.size());  // little-endian hosts only
  if (offsets[0] != 0) return absl::DataLossError(StrCat("shuffle index ", path, " is corrupt"));
  for (size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1]) {
      return absl::DataLossError(StrCat("shuffle index ", path, " is corrupt"));
    }
  }
  return offsets;
}

std::string EncodeShuffleIndex(const std::vector<uint64_t>& offsets) {
  std::string out(offsets.size() * 8, '\0');
  std::memcpy(out.data(), offsets.data(), out.size());
  return out;
}

}  // namespace kiln
