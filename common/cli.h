#pragma once
// The one wording of command line errors that every Kiln program shares.

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln {

// INVALID_ARGUMENT "unknown flag --x (see kiln-master --help)".
absl::Status UnknownFlag(std::string_view program, std::string_view flag);
// INVALID_ARGUMENT "--port 'abc': expected a port number 0-65535".
absl::Status BadFlagValue(std::string_view flag, std::string_view value, std::string_view why);
// The port of a --port/--ui-port flag, 0..65535 (0 = any free port); else BadFlagValue.
absl::StatusOr<int> ParsePortFlag(std::string_view flag, std::string_view value);
// INVALID_ARGUMENT "--port: missing value".
absl::Status MissingValue(std::string_view flag);
// INVALID_ARGUMENT "unexpected argument 'x' (kiln-master takes only flags; see kiln-master
// --help)".
absl::Status UnexpectedArgument(std::string_view program, std::string_view arg);

}  // namespace kiln
