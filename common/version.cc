#include "common/version.h"

#include "common/strings.h"
#include "kiln_version_stamp.h"

namespace kiln {

std::string VersionText(std::string_view program) {
  return StrCat(program, " ", KILN_VERSION, " (commit ", KILN_GIT_COMMIT, ", ", KILN_BUILD_TYPE,
                " build)");
}

}  // namespace kiln
