#pragma once
// CrawlLinks: every page reachable from `start` by following the href="/..." links of the
// pages, each fetched with `get` (which fails the test when a page does not answer), so
// that a test shows that every link of a UI resolves.

#include <functional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace kiln::test {

inline std::set<std::string> CrawlLinks(const std::string& start,
                                        const std::function<std::string(const std::string&)>& get) {
  const std::regex href("href=\"(/[^\"]*)\"");
  std::set<std::string> seen;
  std::vector<std::string> pending = {start};
  while (!pending.empty()) {
    const std::string path = pending.back();
    pending.pop_back();
    if (!seen.insert(path).second) continue;
    const std::string page = get(path);
    for (std::sregex_iterator it(page.begin(), page.end(), href), end; it != end; ++it) {
      pending.push_back((*it)[1]);
    }
  }
  return seen;
}

}  // namespace kiln::test
