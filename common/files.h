#pragma once
// Small file helpers. All return Status errors that name the path.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kiln {

absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes to "<path>.tmp" and renames it over `path`, so readers never see a partial file.
absl::Status WriteFileAtomic(const std::string& path, std::string_view content);
// Writes all of `data` to the open file `fd` (retrying short writes and EINTR); the
// error names `path`.
absl::Status WriteAll(int fd, std::string_view data, const std::string& path);
// Creates the directory and its parents (like mkdir -p).
absl::Status MakeDirs(const std::string& path);
// Removes a file or directory tree; a missing path is not an error.
absl::Status RemoveAll(const std::string& path);
// Lowercase hex SHA-256 of a file's bytes.
absl::StatusOr<std::string> Sha256File(const std::string& path);
// The absolute path of the running executable (/proc/self/exe).
absl::StatusOr<std::string> SelfExePath();
// Creates a fresh directory under `parent` named "<prefix>XXXXXX".
absl::StatusOr<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

}  // namespace kiln
