#include "runtime/closure.h"

#include <array>
#include <string>

#include "common/codec.h"
#include "runtime/op_registry.h"
#include "runtime/ops_narrow.h"
#include "tests/kiln_catch.h"

namespace {

struct Scale {
  int factor = 1;
  std::string suffix;
  std::string operator()(int x) const { return std::to_string(x * factor) + suffix; }
};

}  // namespace

KILN_CODEC(Scale, factor, suffix);

namespace kiln::runtime {
namespace {

TEST_CASE("closure: a lambda's captured values survive the trip", "[closure]") {
  int offset = 41;
  double scale = 2.5;
  std::array<int, 3> table = {7, 8, 9};
  auto f = [offset, scale, table](int x) { return (x + offset) * scale + table[2]; };
  std::string bytes = EncodeClosure(f);
  REQUIRE(bytes.size() == sizeof(f));
  Closure<decltype(f)> rebuilt;
  REQUIRE(rebuilt.Decode(bytes).ok());
  CHECK(rebuilt.get()(1) == f(1));
  CHECK(rebuilt.get()(1) == (1 + 41) * 2.5 + 9);
}

TEST_CASE("closure: a functor with a codec ships its non-trivial state", "[closure]") {
  Scale s{3, "!"};
  std::string bytes = EncodeClosure(s);
  Closure<Scale> rebuilt;
  REQUIRE(rebuilt.Decode(bytes).ok());
  CHECK(rebuilt.get()(5) == "15!");
}

TEST_CASE("closure: bytes of the wrong size are refused", "[closure]") {
  auto f = [k = 1L](long x) { return x + k; };
  Closure<decltype(f)> rebuilt;
  absl::Status s = rebuilt.Decode("abc");
  CHECK(s.code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("op registry: an operator named by the driver is found by its kind", "[closure]") {
  auto f = [](int x) { return x * 2; };
  using Op = MapOp<int, int, decltype(f)>;
  const char* kind = Registered<Op>::kind;
  absl::StatusOr<OpFactory> factory = FindOp(kind);
  REQUIRE(factory.ok());
  absl::StatusOr<std::unique_ptr<OpBase>> op = (*factory)(EncodeClosure(f), "");
  REQUIRE(op.ok());
  CHECK(dynamic_cast<Op*>(op->get()) != nullptr);
}

TEST_CASE("op registry: an unknown kind is NotFound with a hint", "[closure]") {
  absl::StatusOr<OpFactory> factory = FindOp("no-such-operator");
  REQUIRE_FALSE(factory.ok());
  CHECK(factory.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(factory.status().message()).find("binaries differ") != std::string::npos);
}

}  // namespace
}  // namespace kiln::runtime
