// The README's settings table is the one generated from the table in code
// (SettingsTableMarkdown, also printed by kiln-submit --help-settings), unchanged.

#include <fstream>
#include <sstream>
#include <string>

#include "common/settings.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

TEST_CASE("readme: the settings table is the one generated from common/settings_table.cc",
          "[readme]") {
  std::ifstream in(std::string(KILN_SOURCE_DIR) + "/README.md");
  REQUIRE(in);
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string table = SettingsTableMarkdown();
  INFO("regenerate it with: build/bin/kiln-submit --help-settings");
  CHECK(readme.str().find(table) != std::string::npos);
}

}  // namespace
}  // namespace kiln
