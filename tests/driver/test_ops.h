#pragma once
// Operator specs for tests that build plans by hand: only the kind is set.

#include <string>

#include "driver/plan.h"

namespace kiln::internal {

inline proto::OpSpec Op(const std::string& kind) {
  proto::OpSpec op;
  op.set_kind(kind);
  return op;
}

}  // namespace kiln::internal
