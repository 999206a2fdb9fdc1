// The README's settings table must list exactly the settings of the table in code,
// with the same defaults.

#include <fstream>
#include <map>
#include <sstream>

#include "common/settings.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

TEST_CASE("readme: the settings table matches common/settings.cc", "[readme]") {
  std::ifstream in(std::string(KILN_SOURCE_DIR) + "/README.md");
  REQUIRE(in);
  std::map<std::string, std::string> documented;  // name -> default cell
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `kiln.")) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    std::string cell;
    while (std::getline(row, cell, '|')) cells.push_back(cell);
    REQUIRE(cells.size() >= 3);
    auto strip = [](std::string s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '`')) s.erase(s.begin());
      while (!s.empty() && (s.back() == ' ' || s.back() == '`')) s.pop_back();
      return s;
    };
    documented[strip(cells[0])] = strip(cells[2]);
  }
  std::map<std::string, std::string> actual;
  for (const SettingDef& def : AllSettings()) {
    actual[std::string(def.name)] =
        def.default_value.empty() ? "(empty)" : std::string(def.default_value);
  }
  CHECK(documented == actual);
}

}  // namespace
}  // namespace kiln
