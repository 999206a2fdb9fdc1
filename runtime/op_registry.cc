#include "runtime/op_registry.h"

#include <map>
#include <string>

#include "common/strings.h"

namespace kiln::runtime {
namespace {

std::map<std::string, OpFactory, std::less<>>& Table() {
  static auto* table = new std::map<std::string, OpFactory, std::less<>>();
  return *table;
}

}  // namespace

const char* RegisterOp(const char* kind, OpFactory factory) {
  std::string key = kind;
  for (int n = 2;; ++n) {
    auto [it, inserted] = Table().emplace(key, factory);
    if (inserted || it->second == factory) return it->first.c_str();  // map keys never move
    // Two types, one name: types in anonymous namespaces of different translation
    // units (lambdas in same-named functions) share their mangled name. Static
    // initializers run in the same order in every process of one binary, so the
    // numbered keys agree between the driver and its executors.
    key = StrCat(kind, "#", n);
  }
}

absl::StatusOr<OpFactory> FindOp(std::string_view kind) {
  auto it = Table().find(kind);
  if (it == Table().end()) {
    return absl::NotFoundError(StrCat("operator '", kind,
                                      "' is not registered in this binary (executor and "
                                      "driver binaries differ?)"));
  }
  return it->second;
}

size_t RegisteredOpCount() { return Table().size(); }

}  // namespace kiln::runtime
