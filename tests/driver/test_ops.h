#pragma once
// Operator specs for tests that build plans by hand: only the kind is set.

#include <string>

#include "driver/plan.h"

namespace kiln::internal {

inline runtime::OpSpec Op(const std::string& kind) { return runtime::OpSpec{.kind = kind}; }

}  // namespace kiln::internal
