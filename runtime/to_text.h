#pragma once
// ToText: how save_as_text_file writes a record as one line. Strings are written as
// they are; numbers in their shortest round-trip form; pairs and tuples like Spark's
// toString of a Scala tuple: "(a,b)". Specialize kiln::ToText<T> for other types.

#include <charconv>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kiln {

template <class T, class Enable = void>
struct ToText {
  static constexpr bool kMissing = true;
};

template <>
struct ToText<std::string> {
  static void Append(std::string& out, const std::string& v) { out.append(v); }
};
template <>
struct ToText<std::string_view> {
  static void Append(std::string& out, std::string_view v) { out.append(v); }
};
template <>
struct ToText<bool> {
  static void Append(std::string& out, bool v) { out.append(v ? "true" : "false"); }
};
template <class T>
struct ToText<T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  static void Append(std::string& out, T v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
  }
};
template <class A, class B>
struct ToText<std::pair<A, B>> {
  static void Append(std::string& out, const std::pair<A, B>& v) {
    out.push_back('(');
    ToText<A>::Append(out, v.first);
    out.push_back(',');
    ToText<B>::Append(out, v.second);
    out.push_back(')');
  }
};
template <class... Ts>
struct ToText<std::tuple<Ts...>> {
  static void Append(std::string& out, const std::tuple<Ts...>& v) {
    out.push_back('(');
    bool first = true;
    std::apply(
        [&](const Ts&... e) {
          ((first ? void(first = false) : out.push_back(','), ToText<Ts>::Append(out, e)), ...);
        },
        v);
    out.push_back(')');
  }
};

template <class T>
inline constexpr bool HasToText = !requires {
  ToText<T>::kMissing;
};

}  // namespace kiln
