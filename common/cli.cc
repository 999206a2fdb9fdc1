#include "common/cli.h"

#include "common/strings.h"

namespace kiln {

absl::Status UnknownFlag(std::string_view program, std::string_view flag) {
  return absl::InvalidArgumentError(StrCat("unknown flag ", flag, " (see ", program, " --help)"));
}

absl::Status BadFlagValue(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(flag, " '", value, "': ", why));
}

absl::StatusOr<int> ParsePortFlag(std::string_view flag, std::string_view value) {
  int port = 0;
  if (!ParseNumber(value, &port) || port < 0 || port > 65535) {
    return BadFlagValue(flag, value, "expected a port number 0-65535 (0 = any free port)");
  }
  return port;
}

absl::Status MissingValue(std::string_view flag) {
  return absl::InvalidArgumentError(StrCat(flag, ": missing value"));
}

absl::Status UnexpectedArgument(std::string_view program, std::string_view arg) {
  return absl::InvalidArgumentError(StrCat("unexpected argument '", arg, "' (", program,
                                           " takes only flags; see ", program, " --help)"));
}

}  // namespace kiln
