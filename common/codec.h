#pragma once
// The record codec: a compact binary encoding of the C++ values that flow through
// Kiln (shuffle files, task results, parallelized data). Integers are varints (signed
// ones zig-zag), floating point is fixed little-endian, strings and containers are
// length-prefixed.
//
// Supported: bool, integral and floating types, std::string (std::string_view encodes
// the same and decodes as a view into the buffer), std::pair, std::tuple, std::vector,
// std::optional, std::array, std::map, std::unordered_map, std::set, std::unordered_set
// (elements in iteration order), and user types that either specialize kiln::Codec<T> or
// list their fields with KILN_CODEC(Type, field...).
//
// Writer appends to a caller-owned std::string (reuse it across batches to avoid
// allocation). Reader never throws: on malformed input it sets a sticky error flag and
// yields zero values; callers check ok() once after a batch.

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kiln {

// The longest varint: a 64-bit value, 7 bits a byte.
inline constexpr size_t kMaxVarintBytes = 10;

// Writes `v` as a varint at `out`, which has room for kMaxVarintBytes; returns the end.
inline char* PutVarint(char* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void PutVarint(uint64_t v) {
    char buf[kMaxVarintBytes];
    out_->append(buf, static_cast<size_t>(kiln::PutVarint(buf, v) - buf));
  }
  void PutBytes(const void* data, size_t size) {
    out_->append(static_cast<const char*>(data), size);
  }
  void PutLengthPrefixed(std::string_view s) {
    PutVarint(s.size());
    PutBytes(s.data(), s.size());
  }
  std::string* buffer() { return out_; }

 private:
  std::string* out_;
};

class Reader {
 public:
  Reader() = default;
  explicit Reader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  uint64_t GetVarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return Fail();
      uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    return Fail();
  }
  std::string_view GetBytes(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      Fail();
      return {};
    }
    std::string_view out(p_, n);
    p_ += n;
    return out;
  }
  std::string_view GetLengthPrefixed() { return GetBytes(GetVarint()); }

  bool ok() const { return ok_; }
  bool done() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  uint64_t Fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  bool ok_ = true;
};

// Primary template: marks a type without a codec (see HasCodec).
template <class T, class Enable = void>
struct Codec {
  static constexpr bool kMissing = true;
};

// True when T has a codec (a specialization of kiln::Codec<T>).
template <class T>
inline constexpr bool HasCodec = !requires {
  Codec<T>::kMissing;
};

template <class T>
void Encode(Writer& w, const T& value) {
  static_assert(HasCodec<T>,
                "kiln: no codec for this record type; specialize kiln::Codec<T> or use "
                "KILN_CODEC(Type, fields...)");
  Codec<T>::Encode(w, value);
}
template <class T>
void Decode(Reader& r, T& value) {
  static_assert(HasCodec<T>, "kiln: no codec for this record type");
  Codec<T>::Decode(r, value);
}

template <>
struct Codec<bool> {
  static void Encode(Writer& w, bool v) { w.PutVarint(v ? 1 : 0); }
  static void Decode(Reader& r, bool& v) { v = r.GetVarint() != 0; }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void Encode(Writer& w, T v) {
    if constexpr (std::is_signed_v<T>) {
      int64_t s = v;
      w.PutVarint((static_cast<uint64_t>(s) << 1) ^ static_cast<uint64_t>(s >> 63));
    } else {
      w.PutVarint(v);
    }
  }
  static void Decode(Reader& r, T& v) {
    uint64_t u = r.GetVarint();
    if constexpr (std::is_signed_v<T>) {
      v = static_cast<T>(static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)));
    } else {
      v = static_cast<T>(u);
    }
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static void Encode(Writer& w, T v) { w.PutBytes(&v, sizeof(v)); }
  static void Decode(Reader& r, T& v) {
    std::string_view b = r.GetBytes(sizeof(T));
    if (b.size() == sizeof(T)) std::memcpy(&v, b.data(), sizeof(T));
  }
};

template <>
struct Codec<std::string> {
  static void Encode(Writer& w, const std::string& v) { w.PutLengthPrefixed(v); }
  static void Decode(Reader& r, std::string& v) {
    std::string_view s = r.GetLengthPrefixed();
    v.assign(s.data(), s.size());  // reuses v's capacity
  }
};

// Decodes as a view into the reader's buffer: valid while that buffer lives.
template <>
struct Codec<std::string_view> {
  static void Encode(Writer& w, std::string_view v) { w.PutLengthPrefixed(v); }
  static void Decode(Reader& r, std::string_view& v) { v = r.GetLengthPrefixed(); }
};

template <class A, class B>
struct Codec<std::pair<A, B>> {
  static void Encode(Writer& w, const std::pair<A, B>& v) {
    ::kiln::Encode(w, v.first);
    ::kiln::Encode(w, v.second);
  }
  static void Decode(Reader& r, std::pair<A, B>& v) {
    ::kiln::Decode(r, const_cast<std::remove_const_t<A>&>(v.first));
    ::kiln::Decode(r, v.second);
  }
};

template <class... Ts>
struct Codec<std::tuple<Ts...>> {
  static void Encode(Writer& w, const std::tuple<Ts...>& v) {
    std::apply([&](const Ts&... e) { (::kiln::Encode(w, e), ...); }, v);
  }
  static void Decode(Reader& r, std::tuple<Ts...>& v) {
    std::apply([&](Ts&... e) { (::kiln::Decode(r, e), ...); }, v);
  }
};

template <class T>
struct Codec<std::vector<T>> {
  static void Encode(Writer& w, const std::vector<T>& v) {
    w.PutVarint(v.size());
    for (const T& e : v) ::kiln::Encode(w, e);
  }
  static void Decode(Reader& r, std::vector<T>& v) {
    uint64_t n = r.GetVarint();
    // Every element takes at least one byte: a bogus count cannot allocate much.
    if (n > r.remaining()) {
      r.GetBytes(r.remaining() + 1);
      return;
    }
    v.resize(n);
    for (T& e : v) ::kiln::Decode(r, e);
  }
};

template <class T, size_t N>
struct Codec<std::array<T, N>> {
  static void Encode(Writer& w, const std::array<T, N>& v) {
    for (const T& e : v) ::kiln::Encode(w, e);
  }
  static void Decode(Reader& r, std::array<T, N>& v) {
    for (T& e : v) ::kiln::Decode(r, e);
  }
};

// Maps and sets: the count, then each element (a map's as a key-value pair).
template <class C>
struct AssociativeCodec {
  static void Encode(Writer& w, const C& c) {
    w.PutVarint(c.size());
    for (const auto& e : c) ::kiln::Encode(w, e);
  }
  static void Decode(Reader& r, C& c) {
    c.clear();
    uint64_t n = r.GetVarint();
    if (n > r.remaining()) {  // as for vectors: a bogus count allocates nothing
      r.GetBytes(r.remaining() + 1);
      return;
    }
    if constexpr (requires { c.reserve(n); }) c.reserve(n);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      if constexpr (requires { typename C::mapped_type; }) {
        std::pair<typename C::key_type, typename C::mapped_type> e;
        ::kiln::Decode(r, e);
        c.emplace(std::move(e.first), std::move(e.second));
      } else {
        typename C::key_type e;
        ::kiln::Decode(r, e);
        c.insert(std::move(e));
      }
    }
  }
};
template <class K, class V, class Less, class A>
struct Codec<std::map<K, V, Less, A>> : AssociativeCodec<std::map<K, V, Less, A>> {};
template <class K, class V, class Hash, class Eq, class A>
struct Codec<std::unordered_map<K, V, Hash, Eq, A>>
    : AssociativeCodec<std::unordered_map<K, V, Hash, Eq, A>> {};
template <class K, class Less, class A>
struct Codec<std::set<K, Less, A>> : AssociativeCodec<std::set<K, Less, A>> {};
template <class K, class Hash, class Eq, class A>
struct Codec<std::unordered_set<K, Hash, Eq, A>>
    : AssociativeCodec<std::unordered_set<K, Hash, Eq, A>> {};

template <class T>
struct Codec<std::optional<T>> {
  static void Encode(Writer& w, const std::optional<T>& v) {
    w.PutVarint(v.has_value() ? 1 : 0);
    if (v) ::kiln::Encode(w, *v);
  }
  static void Decode(Reader& r, std::optional<T>& v) {
    if (r.GetVarint() != 0) {
      v.emplace();
      ::kiln::Decode(r, *v);
    } else {
      v.reset();
    }
  }
};

// Encodes a whole vector of records as a count followed by the records.
template <class T>
std::string EncodeAll(const std::vector<T>& records) {
  std::string out;
  Writer w(&out);
  Codec<std::vector<T>>::Encode(w, records);
  return out;
}

template <class T>
bool DecodeAll(std::string_view data, std::vector<T>* records) {
  Reader r(data);
  Codec<std::vector<T>>::Decode(r, *records);
  return r.ok() && r.done();
}

}  // namespace kiln

// KILN_CODEC(Type, a, b, c), written at global namespace scope, defines kiln::Codec<Type>
// for an aggregate whose public fields are exactly a, b, c in declaration order (names
// are bound by a structured binding, so all fields must be listed).
#define KILN_CODEC(Type, ...)                                                                    \
  template <>                                                                                    \
  struct kiln::Codec<Type> {                                                                     \
    static void Encode(::kiln::Writer& w, const Type& v) {                                       \
      const auto& [__VA_ARGS__] = v;                                                             \
      std::apply([&](const auto&... f) { (::kiln::Encode(w, f), ...); }, std::tie(__VA_ARGS__)); \
    }                                                                                            \
    static void Decode(::kiln::Reader& r, Type& v) {                                             \
      auto& [__VA_ARGS__] = v;                                                                   \
      auto refs = std::tie(__VA_ARGS__);                                                         \
      std::apply([&](auto&... f) { (::kiln::Decode(r, f), ...); }, refs);                        \
    }                                                                                            \
  }
