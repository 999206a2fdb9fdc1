// city_report USERS_CSV ORDERS_CSV OUTPUT
//
// USERS_CSV rows are "id,name,city,status", ORDERS_CSV rows "id,user_id,amount" (a
// first row starting with "id," is a header and skipped; fields hold no commas). For
// every city with active users, writes "city<TAB>active_users<TAB>order_total" to the
// new directory OUTPUT, sorted by city: the number of users whose status is "active",
// and the sum of the amounts of all orders placed by users of that city (0.00 when
// there are none; amounts have at most two decimals and are summed exactly, in cents).
//
// Stages: active users counted per city (a shuffle), orders joined with their user's
// city (a join) and summed per city (a shuffle), the two left-outer-joined by city and
// sorted.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driver/kiln.h"

namespace {

std::vector<std::string_view> Fields(std::string_view row) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = row.find(',', start);
    out.push_back(row.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool IsHeaderOrBlank(const std::string& row) { return row.empty() || row.starts_with("id,"); }

int64_t ParseInt(std::string_view s, const std::string& row) {
  if (s.empty()) throw std::invalid_argument("bad row '" + row + "': empty number");
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw std::invalid_argument("bad row '" + row + "': not a number");
    v = v * 10 + (c - '0');
  }
  return v;
}

// "12", "12.5", "12.50" -> 1250 cents.
int64_t ParseCents(std::string_view s, const std::string& row) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  size_t dot = s.find('.');
  int64_t cents = ParseInt(s.substr(0, dot), row) * 100;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 2) {
      throw std::invalid_argument("bad row '" + row + "': amount needs 1 or 2 decimals");
    }
    cents += ParseInt(frac, row) * (frac.size() == 1 ? 10 : 1);
  }
  return negative ? -cents : cents;
}

std::string FormatCents(int64_t cents) {
  std::string sign = cents < 0 ? "-" : "";
  if (cents < 0) cents = -cents;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return sign + buf;
}

std::vector<std::string_view> UserFields(const std::string& row) {
  auto f = Fields(row);
  if (f.size() != 4) throw std::invalid_argument("bad users row '" + row + "': expected 4 fields");
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::RunIfExecutor(argc, argv);  // an executor never returns from here
  if (argc != 4) {
    std::fprintf(stderr, "usage: city_report USERS_CSV ORDERS_CSV OUTPUT\n");
    return 2;
  }
  kiln::Context ctx(argc, argv);
  auto users =
      ctx.text_file(argv[1]).filter([](const std::string& r) { return !IsHeaderOrBlank(r); });
  auto orders =
      ctx.text_file(argv[2]).filter([](const std::string& r) { return !IsHeaderOrBlank(r); });

  using CityCount = std::pair<std::string, int64_t>;
  auto active_per_city =
      users.filter([](const std::string& r) { return UserFields(r)[3] == "active"; })
          .map([](const std::string& r) { return CityCount(std::string(UserFields(r)[2]), 1); })
          .reduce_by_key([](int64_t a, int64_t b) { return a + b; });

  auto city_of_user = users.map([](const std::string& r) {
    auto f = UserFields(r);
    return std::pair<int64_t, std::string>(ParseInt(f[0], r), std::string(f[2]));
  });
  auto amount_of_user = orders.map([](const std::string& r) {
    auto f = Fields(r);
    if (f.size() != 3) throw std::invalid_argument("bad orders row '" + r + "': expected 3 fields");
    return std::pair<int64_t, int64_t>(ParseInt(f[1], r), ParseCents(f[2], r));
  });
  auto total_per_city = amount_of_user.join(city_of_user)
                            .map([](std::pair<int64_t, std::pair<int64_t, std::string>> x) {
                              return CityCount(std::move(x.second.second), x.second.first);
                            })
                            .reduce_by_key([](int64_t a, int64_t b) { return a + b; });

  // A city with active users but no orders reports 0.00: a left outer join.
  active_per_city.left_outer_join(total_per_city)
      .sort_by_key()
      .map([](std::pair<std::string, std::pair<int64_t, std::optional<int64_t>>> x) {
        return x.first + "\t" + std::to_string(x.second.first) + "\t" +
               FormatCents(x.second.second.value_or(0));
      })
      .save_as_text_file(argv[3]);
  return 0;
}
