#include "worker/runtime/op_registry.h"

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
  Table().emplace(kind, factory);
  return kind;
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
