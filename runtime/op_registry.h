#pragma once
// The table of operator factories of this binary, keyed by each operator type's mangled
// name. Filled before main() by static initializers of the operator templates (see
// Registered<Op>), read-only afterwards: a process-wide table that never needs resetting.
// Thread-safe for lookups after main() starts.

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

#include "absl/status/statusor.h"
#include "runtime/operator.h"

namespace kiln::runtime {

// One step of a fused task pipeline, as the driver ships it: a registered operator of
// the user's binary, named by `kind`, with its closure bytes and its parameters, both
// encoded by the operator type itself (its EncodeClosure / EncodeParams).
struct OpSpec {
  std::string kind;
  std::string closure;
  std::string params;
  friend bool operator==(const OpSpec&, const OpSpec&) = default;
};

// Builds an operator from its closure bytes and parameters (both encoded by the op).
using OpFactory = absl::StatusOr<std::unique_ptr<OpBase>> (*)(std::string_view closure,
                                                              std::string_view params);

// Adds a factory; returns its key (`kind`, or `kind#N` when another type registered
// that name first) so that it can initialize a static member.
const char* RegisterOp(const char* kind, OpFactory factory);
// NotFound when the kind is unknown (a different binary: the digest check should have
// caught it).
absl::StatusOr<OpFactory> FindOp(std::string_view kind);
size_t RegisteredOpCount();

// Registered<Op>::kind is Op's registry key. Naming it (as the driver does when it
// builds an OpSpec) instantiates the static member, whose initializer registers Op's
// factory in every process that runs this binary.
template <class Op>
struct Registered {
  static const char* const kind;
};
template <class Op>
const char* const Registered<Op>::kind = RegisterOp(typeid(Op).name(), &Op::Create);

// The spec of operator type Op (naming it registers Op in every process of the binary).
template <class Op>
OpSpec MakeOp(std::string closure = {}, std::string params = {}) {
  return OpSpec{Registered<Op>::kind, std::move(closure), std::move(params)};
}

}  // namespace kiln::runtime
