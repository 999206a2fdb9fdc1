#pragma once
// kiln::Words: the words of a text as string_views into it, where a word is a maximal
// run of bytes that are not ASCII whitespace (' ', \t, \n, \v, \f, \r):
//
//   for (std::string_view word : kiln::Words(line)) out.emplace(word, 1);
//
// Table-driven, no allocation; the views live as long as the text.

#include <array>
#include <cstddef>
#include <iterator>
#include <string_view>

namespace kiln {

inline constexpr std::array<bool, 256> kAsciiSpace = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : std::string_view(" \t\n\v\f\r")) table[c] = true;
  return table;
}();

inline bool IsAsciiSpace(char c) { return kAsciiSpace[static_cast<unsigned char>(c)]; }

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
      while (p != end_ && IsAsciiSpace(*p)) ++p;
      const char* start = p;
      while (p != end_ && !IsAsciiSpace(*p)) ++p;
      word_ = std::string_view(start, static_cast<size_t>(p - start));
    }
    const char* end_ = nullptr;
    std::string_view word_;
  };

  iterator begin() const { return iterator(text_.data(), text_.data() + text_.size()); }
  iterator end() const { return iterator(text_.data() + text_.size(), text_.data() + text_.size()); }

 private:
  std::string_view text_;
};

}  // namespace kiln
