#pragma once
// --version of every Kiln program.

#include <string>
#include <string_view>

namespace kiln {

// "kiln-master 0.1.0 (commit 1a2b3c4d5e6f, Release build)".
std::string VersionText(std::string_view program);

}  // namespace kiln
