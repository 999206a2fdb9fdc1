#pragma once
// KeyHash<K>: the hash that places a key in a shuffle partition. It must give the same
// value in every process of the same binary (std::hash of integers is the identity,
// which partitions badly), so integers go through a mixer and bytes through XXH3.

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/codec.h"
// Inlined: hashing a short key is then a few instructions instead of a library call.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include "xxhash.h"

namespace kiln {

inline uint64_t MixHash(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Fallback for user types: the hash of the key's encoding.
template <class K, class Enable = void>
struct KeyHash {
  uint64_t operator()(const K& key) const {
    thread_local std::string buf;
    buf.clear();
    Writer w(&buf);
    Encode(w, key);
    return XXH3_64bits(buf.data(), buf.size());
  }
};

template <class K>
struct KeyHash<K, std::enable_if_t<std::is_integral_v<K>>> {
  uint64_t operator()(K key) const { return MixHash(static_cast<uint64_t>(key)); }
};

template <>
struct KeyHash<std::string> {
  uint64_t operator()(std::string_view key) const { return XXH3_64bits(key.data(), key.size()); }
};
template <>
struct KeyHash<std::string_view> {
  uint64_t operator()(std::string_view key) const { return XXH3_64bits(key.data(), key.size()); }
};

template <class A, class B>
struct KeyHash<std::pair<A, B>> {
  uint64_t operator()(const std::pair<A, B>& key) const {
    return MixHash(KeyHash<A>()(key.first) * 31 + KeyHash<B>()(key.second));
  }
};

}  // namespace kiln
