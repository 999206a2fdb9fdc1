#include "common/cli.h"

#include "common/strings.h"

namespace kiln {

absl::Status UnknownFlag(std::string_view program, std::string_view flag) {
  return absl::InvalidArgumentError(StrCat("unknown flag ", flag, " (see ", program, " --help)"));
}

}  // namespace kiln
