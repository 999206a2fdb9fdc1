#pragma once
// DriverBinaries: the application binaries kiln-submit uploads for cluster deploy mode,
// on the master's disk under <dir>/<digest>, which workers fetch to start drivers. An
// upload is written aside and renamed to its digest only once its size and SHA-256 match
// what was declared, so a present file is a good one (also across master restarts, when
// <dir> is in kiln.deploy.recoveryDirectory). A binary goes when no driver that is not
// yet ended runs from it (Master's binary_unused).
//
// Thread-safe: uploads of the same digest may race; the last rename wins with the same
// bytes.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln::master {

class DriverBinaries {
 public:
  // Largest binary accepted.
  static constexpr int64_t kMaxBinaryBytes = int64_t{4} << 30;

  explicit DriverBinaries(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Receives one upload: `next` fills its argument with the next piece of data and
  // returns false at the end of the stream. INVALID_ARGUMENT for a malformed digest or a
  // size out of range, and when the bytes do not match the declared size or digest.
  absl::Status Receive(const std::string& digest, int64_t size,
                       const std::function<bool(std::string* data)>& next);
  bool Has(const std::string& digest) const;
  std::string PathOf(const std::string& digest) const { return dir_ + "/" + digest; }
  void Remove(const std::string& digest);

 private:
  const std::string dir_;
};

}  // namespace kiln::master
