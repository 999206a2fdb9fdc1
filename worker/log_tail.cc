#include "worker/log_tail.h"

#include <algorithm>
#include <fstream>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace kiln::worker {

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - 4096);
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::vector<std::string_view> lines = Split(text, '\n');
  if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // a partial first line
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  const size_t first = lines.size() > static_cast<size_t>(max_lines)
                           ? lines.size() - static_cast<size_t>(max_lines)
                           : 0;
  std::vector<std::string> kept(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.end());
  return Join(kept, "\n");
}

}  // namespace kiln::worker
