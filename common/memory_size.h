#pragma once
// MemoryBytes(x): about how much memory a record takes, its own size plus the heap it
// owns (string and vector capacity, recursively). The block store sizes cached
// partitions with it, as Spark's SizeEstimator does for cached objects. Exact for the
// types the codec supports; a user type counts its sizeof only unless it specializes
// kiln::HeapBytes<T>. Cheap: O(1) for strings and for vectors of trivially copyable
// values.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {

// The heap memory a value owns (not counting sizeof(T)). Specialize for user types
// that own heap memory.
template <class T, class Enable = void>
struct HeapBytes {
  static size_t Of(const T&) { return 0; }
};

template <class T>
size_t MemoryBytes(const T& v) {
  return sizeof(T) + HeapBytes<T>::Of(v);
}

template <class C, class Tr, class A>
struct HeapBytes<std::basic_string<C, Tr, A>> {
  static size_t Of(const std::basic_string<C, Tr, A>& s) {
    // Short strings live inside the object (libstdc++ keeps up to 15 chars inline).
    constexpr size_t kInline = 15 / sizeof(C);
    return s.capacity() > kInline ? (s.capacity() + 1) * sizeof(C) : 0;
  }
};

template <class T, class A>
struct HeapBytes<std::vector<T, A>> {
  static size_t Of(const std::vector<T, A>& v) {
    size_t bytes = v.capacity() * sizeof(T);
    if constexpr (!std::is_trivially_copyable_v<T>) {
      for (const T& x : v) bytes += HeapBytes<T>::Of(x);
    }
    return bytes;
  }
};

template <class A, class B>
struct HeapBytes<std::pair<A, B>> {
  static size_t Of(const std::pair<A, B>& p) {
    return HeapBytes<A>::Of(p.first) + HeapBytes<B>::Of(p.second);
  }
};

template <class... Ts>
struct HeapBytes<std::tuple<Ts...>> {
  static size_t Of(const std::tuple<Ts...>& t) {
    return std::apply([](const Ts&... e) { return (size_t{0} + ... + HeapBytes<Ts>::Of(e)); }, t);
  }
};

template <class T>
struct HeapBytes<std::optional<T>> {
  static size_t Of(const std::optional<T>& o) { return o ? HeapBytes<T>::Of(*o) : 0; }
};

template <class T, size_t N>
struct HeapBytes<std::array<T, N>> {
  static size_t Of(const std::array<T, N>& a) {
    size_t bytes = 0;
    if constexpr (!std::is_trivially_copyable_v<T>) {
      for (const T& x : a) bytes += HeapBytes<T>::Of(x);
    }
    return bytes;
  }
};

}  // namespace kiln
