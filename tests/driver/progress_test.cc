#include "driver/progress_bar.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

TEST_CASE("progress: the bar has Spark's form", "[progress]") {
  StageProgress p{.active = true, .stage_id = 1, .total = 200, .done = 100, .running = 4};
  std::string line = RenderProgress(p, 60);
  CHECK(line.size() == 60);
  CHECK(line.starts_with("[Stage 1:"));
  CHECK(line.ends_with("(100 + 4) / 200]"));
  size_t arrow = line.find('>');
  REQUIRE(arrow != std::string::npos);
  // Half done: the arrow sits in the middle of the bar.
  size_t bar_start = std::string("[Stage 1:").size();
  size_t bar_len = 60 - bar_start - std::string("(100 + 4) / 200]").size();
  CHECK(arrow - bar_start == bar_len / 2);
}

TEST_CASE("progress: a narrow terminal drops the bar, keeps the counts", "[progress]") {
  StageProgress p{.active = true, .stage_id = 7, .total = 3, .done = 0, .running = 3};
  CHECK(RenderProgress(p, 20) == "[Stage 7:(0 + 3) / 3]");
}

}  // namespace
}  // namespace kiln::internal
