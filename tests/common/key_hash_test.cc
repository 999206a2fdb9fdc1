// The shuffle partitioning hash (common/key_hash.h): it must not change between
// processes or builds, and it must spread keys.
#include "common/key_hash.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "tests/kiln_catch.h"

namespace kiln_key_hash_test {
struct Point {
  int32_t x = 0;
  std::string label;
};
}  // namespace kiln_key_hash_test

KILN_CODEC(kiln_key_hash_test::Point, x, label);

namespace kiln {
namespace {

using kiln_key_hash_test::Point;

TEST_CASE("key hash: values are fixed", "[key_hash]") {
  // Pinned values: a change here reshuffles every key, so it must be deliberate.
  CHECK(KeyHash<int64_t>()(0) == 0);
  CHECK(KeyHash<int64_t>()(1) == 0x5692161d100b05e5ULL);
  CHECK(KeyHash<int64_t>()(-1) == 0xb4d055fcf2cbbd7bULL);
  CHECK(KeyHash<int32_t>()(42) == 0xa759ea27d4727622ULL);
  // XXH3-64 of the empty input, seed 0: the reference value of the xxHash project.
  CHECK(KeyHash<std::string>()("") == 0x2d06800538d394c2ULL);
  CHECK(KeyHash<std::string>()("hello") == 0x9555e8555c62dcfdULL);
  CHECK(KeyHash<std::string>()("the") == 0xcb1283631cf33d7dULL);
  CHECK(KeyHash<std::pair<std::string, int64_t>>()({"the", 1}) == 0x66e47f4d4e5ff3d5ULL);
}

TEST_CASE("key hash: the same key hashes the same whatever its C++ type", "[key_hash]") {
  CHECK(KeyHash<int32_t>()(5) == KeyHash<int64_t>()(5));
  CHECK(KeyHash<int32_t>()(-5) == KeyHash<int64_t>()(-5));
  CHECK(KeyHash<uint16_t>()(7) == KeyHash<uint64_t>()(7));
  CHECK(KeyHash<std::string>()("word") == KeyHash<std::string_view>()("word"));
  CHECK(KeyHash<std::string>()(std::string("a\0b", 3)) !=
        KeyHash<std::string>()(std::string("a\0c", 3)));
}

TEST_CASE("key hash: pairs combine both halves in order", "[key_hash]") {
  KeyHash<std::pair<int64_t, int64_t>> h;
  CHECK(h({1, 2}) != h({2, 1}));
  CHECK(h({1, 2}) == h({1, 2}));
  CHECK(h({1, 2}) == MixHash(KeyHash<int64_t>()(1) * 31 + KeyHash<int64_t>()(2)));
  KeyHash<std::pair<std::string, std::string>> hs;
  CHECK(hs({"ab", "c"}) != hs({"a", "bc"}));
  KeyHash<std::pair<std::pair<int32_t, std::string>, int64_t>> nested;
  CHECK(nested({{1, "x"}, 2}) == nested({{1, "x"}, 2}));
  CHECK(nested({{1, "x"}, 2}) != nested({{1, "y"}, 2}));
}

TEST_CASE("key hash: user types hash their encoding", "[key_hash]") {
  KeyHash<Point> h;
  Point a{3, "p"};
  Point b{3, "p"};
  Point c{3, "q"};
  CHECK(h(a) == h(b));
  CHECK(h(a) != h(c));
  std::string bytes;
  Writer w(&bytes);
  Encode(w, a);
  CHECK(h(a) == XXH3_64bits(bytes.data(), bytes.size()));
}

TEST_CASE("key hash: consecutive integers and words spread over partitions", "[key_hash]") {
  constexpr int kPartitions = 8;
  constexpr int kKeys = 8000;
  std::vector<int> ints(kPartitions), words(kPartitions);
  for (int64_t k = 0; k < kKeys; ++k) {
    ++ints[KeyHash<int64_t>()(k) % kPartitions];
    ++words[KeyHash<std::string>()(StrCat("w", k)) % kPartitions];
  }
  for (int p = 0; p < kPartitions; ++p) {
    INFO("partition " << p);
    // Expected 1000 each; a fair hash stays well within +-20%.
    CHECK(ints[p] > 800);
    CHECK(ints[p] < 1200);
    CHECK(words[p] > 800);
    CHECK(words[p] < 1200);
  }
}

}  // namespace
}  // namespace kiln
