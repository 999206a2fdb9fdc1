#pragma once
// kiln::Words: the words of a text as string_views into it, where a word is a maximal
// run of bytes that are not ASCII whitespace (' ', \t, \n, \v, \f, \r):
//
//   for (std::string_view word : kiln::Words(line)) out.emplace(word, 1);
//
// No allocation; the views live as long as the text. With SSE2 (every x86-64), word
// boundaries come from a whitespace bit mask of 64 bytes at a time, so short words cost
// no unpredictable per-byte branches.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kiln {

inline constexpr std::array<bool, 256> kAsciiSpace = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : std::string_view(" \t\n\v\f\r")) table[c] = true;
  return table;
}();

inline bool IsAsciiSpace(char c) { return kAsciiSpace[static_cast<unsigned char>(c)]; }

#if defined(__SSE2__)
// Bit i set: p[i] is ASCII whitespace, for the 16 bytes at p.
inline uint32_t AsciiSpaceMask16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i space = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
  // \t..\r are 9..13: v - 9 is at most 4 (unsigned) exactly for them.
  const __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8(9));
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(shifted, _mm_set1_epi8(4)), shifted);
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(space, control)));
}
#endif

// Bit i set: p[i] is ASCII whitespace or p + i is at or past `end`, for the 64 bytes at
// p. Reads only [begin, end), p within it: a last part shorter than 16 bytes is read as
// the 16 bytes that end at `end` when the text holds them.
inline uint64_t AsciiSpaceMask64(const char* begin, const char* p, const char* end) {
  const size_t n = static_cast<size_t>(end - p);
#if defined(__SSE2__)
  if (n >= 64) {
    return uint64_t{AsciiSpaceMask16(p)} | uint64_t{AsciiSpaceMask16(p + 16)} << 16 |
           uint64_t{AsciiSpaceMask16(p + 32)} << 32 | uint64_t{AsciiSpaceMask16(p + 48)} << 48;
  }
  uint64_t mask = ~uint64_t{0};
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    mask &= ~(uint64_t{0xffff} << i);
    mask |= uint64_t{AsciiSpaceMask16(p + i)} << i;
  }
  const size_t rest = n - i;
  if (rest == 0) return mask;
  uint64_t bits = 0;
  if (end - begin >= 16) {
    bits = AsciiSpaceMask16(end - 16) >> (16 - rest);
  } else {
    for (size_t j = 0; j < rest; ++j) bits |= uint64_t{IsAsciiSpace(p[i + j])} << j;
  }
  mask &= ~(((uint64_t{1} << rest) - 1) << i);
  return mask | bits << i;
#else
  (void)begin;
  uint64_t mask = ~uint64_t{0};
  for (size_t i = 0; i < n && i < 64; ++i) {
    if (!IsAsciiSpace(p[i])) mask &= ~(uint64_t{1} << i);
  }
  return mask;
#endif
}

// Scans 64 bytes at a time: one whitespace mask per block gives the block's word starts
// (a non-space after a space) as bits, and each word's end is the next set bit of the
// mask, so a word costs two bit scans and no per-byte branch.
class Words {
 public:
  explicit Words(std::string_view text) : text_(text) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;

    iterator() = default;
    iterator(const char* pos, const char* end) : begin_(pos), end_(end), block_(pos) {
      space_ = AsciiSpaceMask64(begin_, block_, end_);
      starts_ = ~space_ & ((space_ << 1) | 1);
      Advance();
    }

    std::string_view operator*() const { return word_; }
    iterator& operator++() {
      Advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& other) const { return word_.data() == other.word_.data(); }

   private:
    bool LastBlock() const { return end_ - block_ <= 64; }
    // The next block: a word start at its first byte needs a space before it.
    void NextBlock() {
      const uint64_t space_before = space_ >> 63;
      block_ += 64;
      space_ = AsciiSpaceMask64(begin_, block_, end_);
      starts_ = ~space_ & ((space_ << 1) | space_before);
    }
    // The next word (the lowest start left), ending at the next whitespace bit, in this
    // block or a later one; at the end, word_ is empty at end_.
    void Advance() {
      while (starts_ == 0) {
        if (LastBlock()) {
          word_ = std::string_view(end_, 0);
          return;
        }
        NextBlock();
      }
      const int at = __builtin_ctzll(starts_);
      starts_ &= starts_ - 1;
      const char* start = block_ + at;
      if (const uint64_t after = space_ >> at; after != 0) {
        word_ = std::string_view(start, static_cast<size_t>(__builtin_ctzll(after)));
        return;
      }
      while (!LastBlock()) {  // the word runs on into the next block
        NextBlock();
        if (space_ != 0) {
          word_ = std::string_view(start, static_cast<size_t>(block_ - start) +
                                              static_cast<size_t>(__builtin_ctzll(space_)));
          return;
        }
      }
      word_ = std::string_view(start, static_cast<size_t>(end_ - start));
    }
    const char* begin_ = nullptr;
    const char* end_ = nullptr;
    const char* block_ = nullptr;
    uint64_t space_ = 0;   // bit i: block_[i] is whitespace (or past end_)
    uint64_t starts_ = 0;  // bit i: a word starts at block_[i], not yet returned
    std::string_view word_;
  };

  iterator begin() const { return iterator(text_.data(), text_.data() + text_.size()); }
  iterator end() const {
    return iterator(text_.data() + text_.size(), text_.data() + text_.size());
  }

 private:
  std::string_view text_;
};

}  // namespace kiln
