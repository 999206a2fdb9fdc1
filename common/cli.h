#pragma once
// The one wording of command line errors that every Kiln program shares.

#include <string_view>

#include "absl/status/status.h"

namespace kiln {

// INVALID_ARGUMENT "unknown flag --x (see kiln-master --help)".
absl::Status UnknownFlag(std::string_view program, std::string_view flag);

}  // namespace kiln
