#pragma once
// kiln::Words: the words of a text as string_views into it, where a word is a maximal
// run of bytes that are not ASCII whitespace (' ', \t, \n, \v, \f, \r):
//
//   for (std::string_view word : kiln::Words(line)) out.emplace(word, 1);
//
// No allocation; the views live as long as the text. With SSE2 (every x86-64), word
// boundaries are found 16 bytes at a time from a whitespace bit mask, so short words
// cost no unpredictable per-byte branches.

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
    iterator(const char* pos, const char* end) : end_(end) { Advance(pos); }

    std::string_view operator*() const { return word_; }
    iterator& operator++() {
      Advance(word_.data() + word_.size());
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& other) const { return word_.data() == other.word_.data(); }

   private:
    // Finds the word at or after p; at the end, word_ is empty at end_.
    void Advance(const char* p) {
      p = Skip<true>(p);
      const char* start = p;
      p = Skip<false>(p);
      word_ = std::string_view(start, static_cast<size_t>(p - start));
    }
    // The first byte at or after p that is not (kSpace) / is (!kSpace) whitespace.
    template <bool kSpace>
    const char* Skip(const char* p) const {
#if defined(__SSE2__)
      while (end_ - p >= 16) {
        uint32_t stop = AsciiSpaceMask16(p);
        if constexpr (kSpace) stop = ~stop & 0xffff;
        if (stop != 0) return p + __builtin_ctz(stop);
        p += 16;
      }
#endif
      while (p != end_ && IsAsciiSpace(*p) == kSpace) ++p;
      return p;
    }
    const char* end_ = nullptr;
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
