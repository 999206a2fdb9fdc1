#pragma once
// How api_app prints its results and how api_test formats its references: numbers,
// doubles as %.17g, pairs "a:b", lists joined with ','. One definition for both sides.

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace kiln::test::api_format {

inline std::string Str(int64_t v) { return std::to_string(v); }
inline std::string Str(const std::string& v) { return v; }
inline std::string Str(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}
template <class A, class B>
std::string Str(const std::pair<A, B>& p) {
  return Str(p.first) + ":" + Str(p.second);
}
template <class T>
std::string Str(const std::vector<T>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i > 0 ? "," : "") + Str(v[i]);
  return out;
}

}  // namespace kiln::test::api_format
