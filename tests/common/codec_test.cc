// The record codec (common/codec.h): round trips, compactness and malformed input.
#include "common/codec.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tests/kiln_catch.h"

namespace kiln_codec_test {
struct Order {
  int64_t id = 0;
  std::string city;
  std::vector<double> amounts;
  std::optional<std::pair<int32_t, std::string>> note;
  bool operator==(const Order&) const = default;
};
}  // namespace kiln_codec_test

KILN_CODEC(kiln_codec_test::Order, id, city, amounts, note);

namespace kiln {
namespace {

using kiln_codec_test::Order;

template <class T>
std::string EncodeOne(const T& value) {
  std::string out;
  Writer w(&out);
  Encode(w, value);
  return out;
}

// Decodes one T from `bytes`; the reader must consume all of it.
template <class T>
T RoundTrip(const T& value) {
  std::string bytes = EncodeOne(value);
  Reader r(bytes);
  T back{};
  Decode(r, back);
  REQUIRE(r.ok());
  REQUIRE(r.done());
  return back;
}

template <class T>
void CheckIntegerExtremes() {
  using L = std::numeric_limits<T>;
  for (T v :
       {T{0}, T{1}, L::max(), L::min(), static_cast<T>(L::max() - 1), static_cast<T>(L::min() + 1),
        static_cast<T>(63), static_cast<T>(64), static_cast<T>(127), static_cast<T>(128)}) {
    INFO("value " << +v);
    CHECK(RoundTrip(v) == v);
  }
  if constexpr (L::is_signed) {
    for (T v : {T{-1}, T{-64}, T{-65}, T{-128}}) {
      INFO("value " << +v);
      CHECK(RoundTrip(v) == v);
    }
  }
}

TEST_CASE("codec: integers round trip at their extremes", "[codec]") {
  CheckIntegerExtremes<int8_t>();
  CheckIntegerExtremes<uint8_t>();
  CheckIntegerExtremes<int16_t>();
  CheckIntegerExtremes<uint16_t>();
  CheckIntegerExtremes<int32_t>();
  CheckIntegerExtremes<uint32_t>();
  CheckIntegerExtremes<int64_t>();
  CheckIntegerExtremes<uint64_t>();
  CHECK(RoundTrip(true) == true);
  CHECK(RoundTrip(false) == false);
  CHECK(RoundTrip('x') == 'x');
}

TEST_CASE("codec: small integers, negative ones included, take one byte", "[codec]") {
  CHECK(EncodeOne(int64_t{0}).size() == 1);
  CHECK(EncodeOne(int64_t{-1}).size() == 1);
  CHECK(EncodeOne(int64_t{63}).size() == 1);
  CHECK(EncodeOne(int64_t{-64}).size() == 1);
  CHECK(EncodeOne(int64_t{64}).size() == 2);
  CHECK(EncodeOne(uint32_t{127}).size() == 1);
  CHECK(EncodeOne(uint32_t{128}).size() == 2);
  CHECK(EncodeOne(std::numeric_limits<uint64_t>::max()).size() == 10);
  CHECK(EncodeOne(std::numeric_limits<int64_t>::min()).size() == 10);
  CHECK(EncodeOne(true).size() == 1);
}

TEST_CASE("codec: floating point round trips bit for bit", "[codec]") {
  using L = std::numeric_limits<double>;
  for (double v : {0.0, -0.0, 1.5, -3.25, L::max(), L::lowest(), L::min(), L::denorm_min(),
                   L::epsilon(), L::infinity(), -L::infinity()}) {
    INFO("value " << v);
    double back = RoundTrip(v);
    CHECK(back == v);
    CHECK(std::signbit(back) == std::signbit(v));
  }
  CHECK(std::isnan(RoundTrip(L::quiet_NaN())));
  CHECK(RoundTrip(1.25f) == 1.25f);
  CHECK(RoundTrip(std::numeric_limits<float>::max()) == std::numeric_limits<float>::max());
  CHECK(EncodeOne(1.0).size() == 8);
  CHECK(EncodeOne(1.0f).size() == 4);
}

TEST_CASE("codec: strings keep embedded NULs and arbitrary bytes", "[codec]") {
  std::string with_nuls("a\0b\0\0c", 6);
  CHECK(RoundTrip(with_nuls) == with_nuls);
  CHECK(RoundTrip(std::string()) == "");
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  CHECK(RoundTrip(all_bytes) == all_bytes);
  std::string big(100'000, 'z');
  CHECK(RoundTrip(big) == big);
  CHECK(EncodeOne(std::string("abc")).size() == 4);
}

TEST_CASE("codec: string_view decodes as a view into the buffer", "[codec]") {
  std::string bytes = EncodeOne(std::string_view("hello"));
  CHECK(bytes == EncodeOne(std::string("hello")));
  Reader r(bytes);
  std::string_view v;
  Decode(r, v);
  REQUIRE(r.ok());
  CHECK(v == "hello");
  CHECK(v.data() >= bytes.data());
  CHECK(v.data() + v.size() <= bytes.data() + bytes.size());
}

TEST_CASE("codec: pairs, tuples, vectors, arrays and optionals round trip", "[codec]") {
  std::pair<std::string, int64_t> p{"key", -42};
  CHECK(RoundTrip(p) == p);
  std::tuple<int32_t, std::string, double, bool> t{-1, std::string("x\0y", 3), 2.5, true};
  CHECK(RoundTrip(t) == t);
  std::vector<std::pair<std::string, int64_t>> v{{"a", 1}, {"", 0}, {"ccc", INT64_MIN}};
  CHECK(RoundTrip(v) == v);
  std::vector<std::vector<std::string>> nested{{}, {"x"}, {"y", "z", ""}};
  CHECK(RoundTrip(nested) == nested);
  CHECK(RoundTrip(std::vector<int>{}).empty());
  std::array<uint16_t, 3> a{1, 65535, 0};
  CHECK(RoundTrip(a) == a);
  std::optional<std::string> some = "s";
  std::optional<std::string> none;
  CHECK(RoundTrip(some) == some);
  CHECK(RoundTrip(none) == none);
  std::vector<std::optional<int>> opts{1, std::nullopt, -3};
  CHECK(RoundTrip(opts) == opts);
}

TEST_CASE("codec: maps and sets round trip, and decode into a used one replacing it", "[codec]") {
  std::unordered_map<std::string, std::vector<int64_t>> table;
  for (int i = 0; i < 1000; ++i) table["k" + std::to_string(i)] = {i, -i};
  CHECK(RoundTrip(table) == table);
  std::map<int64_t, std::string> ordered{{-5, "a"}, {0, ""}, {INT64_MAX, "z"}};
  CHECK(RoundTrip(ordered) == ordered);
  std::set<std::string> names{"", "x", "yy"};
  CHECK(RoundTrip(names) == names);
  std::unordered_set<int32_t> ids{1, -2, 300000};
  CHECK(RoundTrip(ids) == ids);
  CHECK(RoundTrip(std::map<int, int>{}).empty());
  std::string bytes = EncodeOne(std::map<int, int>{{1, 2}});
  Reader r(bytes);
  std::map<int, int> used{{7, 7}, {8, 8}};
  Decode(r, used);
  CHECK(used == std::map<int, int>{{1, 2}});
  // A count larger than the bytes left fails the reader without allocating.
  std::string bogus;
  Writer w(&bogus);
  w.PutVarint(uint64_t{1} << 40);
  Reader br(bogus);
  std::unordered_map<int, int> m;
  Decode(br, m);
  CHECK_FALSE(br.ok());
  CHECK(m.empty());
}

TEST_CASE("codec: decoding into a used value replaces it", "[codec]") {
  std::string bytes = EncodeOne(std::optional<int>());
  Reader r(bytes);
  std::optional<int> o = 5;
  Decode(r, o);
  CHECK_FALSE(o.has_value());
  std::string vbytes = EncodeOne(std::vector<int>{7});
  Reader rv(vbytes);
  std::vector<int> v{1, 2, 3};
  Decode(rv, v);
  CHECK(v == std::vector<int>{7});
}

TEST_CASE("codec: a KILN_CODEC struct round trips", "[codec]") {
  Order o{7, "Lyon", {1.5, -2.0}, std::make_pair(3, std::string("gift"))};
  CHECK(RoundTrip(o) == o);
  Order empty;
  CHECK(RoundTrip(empty) == empty);
  std::vector<Order> many{o, empty, o};
  std::string all = EncodeAll(many);
  std::vector<Order> back;
  REQUIRE(DecodeAll(all, &back));
  CHECK(back == many);
}

TEST_CASE("codec: EncodeAll and DecodeAll round trip and reject trailing bytes", "[codec]") {
  std::vector<std::pair<std::string, int64_t>> records{{"the", 3}, {"a", 1}};
  std::string bytes = EncodeAll(records);
  std::vector<std::pair<std::string, int64_t>> back;
  REQUIRE(DecodeAll(bytes, &back));
  CHECK(back == records);
  CHECK_FALSE(DecodeAll(bytes + "x", &back));
  std::vector<int> none;
  CHECK(DecodeAll(EncodeAll(std::vector<int>{}), &none));
  CHECK(none.empty());
}

TEST_CASE("codec: every truncation of a record fails cleanly", "[codec]") {
  std::vector<Order> records{{1, "Paris", {1.0, 2.0}, std::make_pair(9, std::string("n"))},
                             {-5, std::string(300, 'q'), {}, std::nullopt}};
  std::string bytes = EncodeAll(records);
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("prefix length " << n);
    std::vector<Order> back;
    CHECK_FALSE(DecodeAll(std::string_view(bytes).substr(0, n), &back));
  }
}

TEST_CASE("codec: huge lengths and counts fail without allocating", "[codec]") {
  // A string claiming 2^62 bytes.
  std::string huge_string;
  Writer w(&huge_string);
  w.PutVarint(uint64_t{1} << 62);
  huge_string += "abc";
  Reader r1(huge_string);
  std::string s;
  Decode(r1, s);
  CHECK_FALSE(r1.ok());
  CHECK(s.empty());

  // A vector claiming 2^60 elements: must not try to resize to that.
  std::string huge_vector;
  Writer w2(&huge_vector);
  w2.PutVarint(uint64_t{1} << 60);
  huge_vector += "abcdef";
  std::vector<std::string> v;
  CHECK_FALSE(DecodeAll(huge_vector, &v));
  CHECK(v.size() <= huge_vector.size());
  std::vector<std::vector<int64_t>> vv;
  CHECK_FALSE(DecodeAll(huge_vector, &vv));
}

TEST_CASE("codec: an over-long varint is an error and the error is sticky", "[codec]") {
  std::string bad(11, '\xff');
  Reader r(bad);
  CHECK(r.GetVarint() == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.done());
  // Later reads keep failing and yield zero values.
  int64_t i = 5;
  Decode(r, i);
  CHECK(i == 0);
  std::string s = "old";
  Decode(r, s);
  CHECK(s.empty());
  CHECK_FALSE(r.ok());

  Reader empty{std::string_view()};
  double d = 1.0;
  Decode(empty, d);
  CHECK_FALSE(empty.ok());
}

TEST_CASE("codec: random bytes never crash the decoder", "[codec]") {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    std::vector<Order> orders;
    (void)DecodeAll(junk, &orders);
    CHECK(orders.size() <= junk.size());
    std::vector<std::pair<std::string, std::vector<int64_t>>> pairs;
    (void)DecodeAll(junk, &pairs);
    CHECK(pairs.size() <= junk.size());
  }
}

}  // namespace
}  // namespace kiln
