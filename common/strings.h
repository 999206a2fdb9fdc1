#pragma once
// String helpers over std::string_view. Debian 12's Abseil is built with its own
// absl::string_view (not std::string_view), so Kiln keeps absl/strings out of its APIs
// and uses these instead.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/string_view.h"

namespace kiln {

namespace strings_internal {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, char c) { out.push_back(c); }
inline void Append(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> Append(std::string& out, T v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}
}  // namespace strings_internal

// Concatenates strings, characters and numbers.
template <class... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}
template <class... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::Append(*out, args), ...);
}

// Splits on `sep`; with `skip_empty` drops empty pieces.
std::vector<std::string_view> Split(std::string_view text, char sep, bool skip_empty = false);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

std::string_view StripWhitespace(std::string_view s);
std::string ToLower(std::string_view s);

// Whole-string parses: false on empty input, trailing junk or overflow.
template <class T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if constexpr (std::is_unsigned_v<T>) {
    if (*begin == '+') ++begin;
  }
  auto r = std::from_chars(begin, text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}
bool ParseBool(std::string_view text, bool* out);

// absl::string_view (Status::message()) as std::string_view.
inline std::string_view View(absl::string_view s) { return {s.data(), s.size()}; }

// Escapes a string for inclusion in a JSON document (without the quotes).
std::string JsonEscape(std::string_view s);
// Escapes a string for HTML text and attribute values (& < > " ').
std::string HtmlEscape(std::string_view s);
// Control characters written as \n, \r, \t or \xNN, so that text from a peer (an
// executor's stderr tail, a reason) stays on one log line and cannot forge another.
std::string EscapeControl(std::string_view s);
// A C++ type as people read it, from its mangled name (typeid(T).name()); the mangled
// name itself when it does not demangle. Cut to `max_chars` with "..." (0: whole).
std::string DemangledType(const std::string& mangled, size_t max_chars = 0);

}  // namespace kiln
