#pragma once
// DenseWindow<K, C>: the combiners of integer keys in one window [base, base + width),
// in an array indexed by key - base with a bitmap of the keys present. Folding a record
// into it is one array access (prefetched ahead, as MergeInto's probes are), where a
// hash map pays a probe of control bytes and a slot. CombineTable (combine_table.h)
// puts the keys of a combine there when they turn out dense. Not thread-safe.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/memory_size.h"

namespace kiln::runtime {

template <class K, class C>
class DenseWindow {
  static_assert(std::is_integral_v<K>);

 public:
  DenseWindow() = default;
  DenseWindow(const DenseWindow&) = delete;
  DenseWindow& operator=(const DenseWindow&) = delete;
  DenseWindow(DenseWindow&& other) noexcept { Swap(other); }
  DenseWindow& operator=(DenseWindow&& other) noexcept {
    Clear();
    Swap(other);
    return *this;
  }
  ~DenseWindow() { Clear(); }

  // What a window of `width` keys takes: the combiners' array and the bitmap.
  static int64_t BytesFor(uint64_t width) {
    return static_cast<int64_t>(width * sizeof(C) + (width + 63) / 64 * sizeof(uint64_t));
  }

  bool empty() const { return width_ == 0; }
  size_t size() const { return count_; }
  K low() const { return static_cast<K>(base_); }
  K high() const { return static_cast<K>(base_ + width_ - 1); }  // width_ > 0
  int64_t bytes() const { return width_ == 0 ? 0 : BytesFor(width_); }

  // Drops every combiner, then holds the keys low..high (no key present).
  void Reset(K low, K high) {
    Clear();
    base_ = static_cast<uint64_t>(low);
    width_ = static_cast<uint64_t>(high) - base_ + 1;
    slots_ = std::allocator<C>().allocate(width_);
    bits_.assign((width_ + 63) / 64, 0);
  }

  // Drops every combiner and frees the arrays.
  void Clear() {
    if (width_ == 0) return;
    if constexpr (!std::is_trivially_destructible_v<C>) {
      ForEach([](K, C& c) { c.~C(); });
    }
    std::allocator<C>().deallocate(slots_, width_);
    std::vector<uint64_t>().swap(bits_);
    slots_ = nullptr;
    width_ = 0;
    count_ = 0;
  }

  void Swap(DenseWindow& other) {
    std::swap(base_, other.base_);
    std::swap(width_, other.width_);
    std::swap(count_, other.count_);
    std::swap(slots_, other.slots_);
    bits_.swap(other.bits_);
  }

  bool Holds(K key) const { return static_cast<uint64_t>(key) - base_ < width_; }

  // Pulls the slot of `key` (Holds) towards the cache.
  void Prefetch(K key) const { __builtin_prefetch(slots_ + (static_cast<uint64_t>(key) - base_)); }

  // Folds `value` into the combiner of `key` (Holds): create(V) starts it,
  // merge(C, V) -> C adds to it. Returns how much the heap memory of the combiners grew.
  template <class V, class Create, class Merge>
  int64_t Fold(K key, V&& value, Create& create, Merge& merge) {
    const uint64_t i = static_cast<uint64_t>(key) - base_;
    uint64_t& word = bits_[i >> 6];
    const uint64_t bit = uint64_t{1} << (i & 63);
    C* slot = slots_ + i;
    if ((word & bit) == 0) {
      ::new (static_cast<void*>(slot)) C(create(std::move(value)));
      word |= bit;
      ++count_;
      return static_cast<int64_t>(HeapBytes<C>::Of(*slot));
    }
    const auto before = static_cast<int64_t>(HeapBytes<C>::Of(*slot));
    *slot = merge(std::move(*slot), std::move(value));
    return static_cast<int64_t>(HeapBytes<C>::Of(*slot)) - before;
  }

  // Moves in the combiner of `key` (Holds, not present).
  void Put(K key, C&& combiner) {
    const uint64_t i = static_cast<uint64_t>(key) - base_;
    ::new (static_cast<void*>(slots_ + i)) C(std::move(combiner));
    bits_[i >> 6] |= uint64_t{1} << (i & 63);
    ++count_;
  }

  // f(K key, C& combiner) for every key present, in key order.
  template <class F>
  void ForEach(F f) {
    for (size_t w = 0; w < bits_.size(); ++w) {
      for (uint64_t word = bits_[w]; word != 0; word &= word - 1) {
        const uint64_t i = w * 64 + static_cast<uint64_t>(std::countr_zero(word));
        f(static_cast<K>(base_ + i), slots_[i]);
      }
    }
  }

 private:
  uint64_t base_ = 0;   // the lowest key, as unsigned (keys are compared as key - base_)
  uint64_t width_ = 0;  // 0: no window
  size_t count_ = 0;    // keys present
  C* slots_ = nullptr;  // width_ slots, constructed where the key's bit is set
  std::vector<uint64_t> bits_;
};

}  // namespace kiln::runtime
