#include "tests/jobs/job_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

#ifndef KILN_BIN_DIR
#error "KILN_BIN_DIR must name build/bin"
#endif
#ifndef KILN_TEST_APPS_DIR
#error "KILN_TEST_APPS_DIR must name the directory of the test applications"
#endif

namespace kiln::test::jobs {
namespace fs = std::filesystem;

std::string BinPath(const std::string& name) { return std::string(KILN_BIN_DIR) + "/" + name; }
std::string AppPath(const std::string& name) {
  return std::string(KILN_TEST_APPS_DIR) + "/" + name;
}

CommandResult Submit(const std::string& master, const std::vector<std::string>& flags,
                     const std::string& app, const std::vector<std::string>& app_args,
                     milliseconds timeout) {
  std::vector<std::string> argv{BinPath("kiln-submit"), "--master", master, "--conf",
                                "kiln.ui.showConsoleProgress=false"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(app);
  argv.insert(argv.end(), app_args.begin(), app_args.end());
  return RunCommand(argv, timeout);
}

std::string AppIdFromStderr(const std::string& err) {
  const std::string marker = "kiln-submit: application ";
  size_t at = err.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  size_t end = err.find(' ', at);
  return end == std::string::npos ? "" : err.substr(at, end - at);
}

Json FindApp(const Json& state, const char* list, const std::string& id) {
  if (!state.is_object() || !state.contains(list) || !state[list].is_array()) return Json();
  for (const Json& app : state[list]) {
    if (app.is_object() && app.contains("id") && app["id"] == id) return app;
  }
  return Json();
}

Json WaitForCompletedApp(const MiniCluster& cluster, const std::string& id, milliseconds timeout) {
  Json entry;
  WaitFor([&] { return !(entry = FindApp(cluster.MasterState(), "completedapps", id)).is_null(); },
          timeout);
  return entry;
}

absl::Status CheckAppEnded(const MiniCluster& cluster, const std::string& err,
                           const std::string& state) {
  const std::string app = AppIdFromStderr(err);
  if (app.empty()) return absl::NotFoundError("kiln-submit announced no application: " + err);
  Json entry = WaitForCompletedApp(cluster, app);
  if (entry.is_object() && entry.value("state", "") == state) return absl::OkStatus();
  return absl::FailedPreconditionError("application " + app + " did not end " + state +
                                       "; /json: " + cluster.MasterState().dump());
}

absl::Status CheckOnlyLogsLeft(const MiniCluster& cluster, const std::string& app,
                               std::string* stderr_text) {
  namespace fs = std::filesystem;
  std::string extra;
  const bool clean = WaitFor(
      [&] {
        extra.clear();
        stderr_text->clear();
        for (int i = 0; i < cluster.num_workers(); ++i) {
          const std::string dir = cluster.worker_work_dir(i) + "/" + app;
          std::error_code ec;
          for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
               it.increment(ec)) {
            // Lexical: the worker may be deleting files meanwhile.
            const fs::path rel = it->path().lexically_relative(dir);
            const std::string first = rel.begin()->string();
            const bool log = std::distance(rel.begin(), rel.end()) == 2 &&
                             first.starts_with("executor-") &&
                             (rel.filename() == "stdout" || rel.filename() == "stderr");
            if (log && rel.filename() == "stderr") {
              *stderr_text += ReadFile(it->path().string()).value_or("");
            }
            std::error_code type_ec;
            if (!log && !(it->is_directory(type_ec) && first.starts_with("executor-"))) {
              extra += " " + it->path().string();
            }
          }
        }
        return extra.empty();
      },
      seconds(15));
  if (clean) return absl::OkStatus();
  return absl::FailedPreconditionError("besides the executors' logs, left:" + extra);
}

absl::Status CheckNoApplications(const MiniCluster& cluster) {
  Json state = cluster.MasterState();
  if (state.is_object() && state["activeapps"].empty() && state["completedapps"].empty()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError("the master has applications; /json: " + state.dump());
}

absl::Status CheckClusterIdle(const MiniCluster& cluster, milliseconds timeout) {
  absl::Status leaks = cluster.CheckNoLeaks(timeout);
  if (!leaks.ok()) return leaks;
  std::string last;
  bool idle = WaitFor(
      [&] {
        for (int i = 0; i < cluster.num_workers(); ++i) {
          if (cluster.worker_pid(i) <= 0) continue;  // killed by the test
          absl::StatusOr<std::string> body =
              HttpGet("127.0.0.1", cluster.worker_ui_port(i), "/json");
          Json state = body.ok() ? Json::parse(*body, nullptr, false) : Json();
          if (!state.is_object() || !state.contains("executors") ||
              !state["executors"].is_array() || !state["executors"].empty()) {
            last = "worker-" + std::to_string(i) +
                   " /json: " + (body.ok() ? *body : std::string(body.status().message()));
            return false;
          }
        }
        return true;
      },
      timeout);
  if (idle) return absl::OkStatus();
  return absl::FailedPreconditionError("a worker still lists executors after " +
                                       std::to_string(timeout.count()) + " ms: " + last);
}

// ------------------------------------------------------------------ files

void WriteTestFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  INFO("writing " << path);
  REQUIRE(out.good());
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path);
  REQUIRE(in.good());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> PartFiles(const std::string& dir) {
  std::vector<std::string> parts;
  for (const std::string& name : ListDir(dir)) {
    if (name.starts_with("part-")) parts.push_back(name);
  }
  return parts;
}

std::string ReadParts(const std::string& dir) {
  std::string all;
  for (const std::string& part : PartFiles(dir)) all += ReadTestFile(dir + "/" + part);
  return all;
}

// The driver's final message ("kiln: ..."), the last such line of its stderr.
std::string DriverMessage(const std::string& err) {
  std::string message;
  for (const std::string& line : SplitLines(err)) {
    if (line.starts_with("kiln: ")) message = line;
  }
  return message;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string> SortedLines(std::string_view text) {
  std::vector<std::string> lines = SplitLines(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// ------------------------------------------------------------------ wordcount

uint64_t Rng::Next() {  // splitmix64
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string GenerateText(uint32_t seed, int lines) {
  static const char* const kWords[] = {
      "the",   "The",   "fox,",       "dog.",       "(quick)", "don't",   "e-mail", "3.14",
      "#tag",  "naïve", "x\xc2\xa0y", "\"quoted\"", "a;b",     "!",       "...",    "end.",
      "brown", "over",  "lazy",       "jumps",      "THE",     "q?",      "0",      "\x7f",
      "[x]",   "a,b,c", "Zebra",      "zebra",      "-",       "__init__"};
  static const char* const kSpaces[] = {" ",  "  ", "\t",  " \t ", "\v",
                                        "\f", "\r", " \r", "\v\f", " "};
  constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);
  constexpr size_t kNumSpaces = sizeof(kSpaces) / sizeof(kSpaces[0]);
  Rng rng(seed);
  std::string text;
  for (int i = 0; i < lines; ++i) {
    uint64_t kind = rng.Below(20);
    if (kind == 0) {
      // empty line
    } else if (kind == 1) {
      text += kSpaces[rng.Below(kNumSpaces)];  // blank line
    } else {
      if (rng.Below(4) == 0) text += kSpaces[rng.Below(kNumSpaces)];  // leading space
      int words = 1 + static_cast<int>(rng.Below(12));
      for (int w = 0; w < words; ++w) {
        if (w > 0) text += kSpaces[rng.Below(kNumSpaces)];
        // Skewed toward the first words, so that counts differ and ties are rare.
        text += kWords[std::min(rng.Below(kNumWords), rng.Below(kNumWords))];
      }
      if (rng.Below(4) == 0) text += kSpaces[rng.Below(kNumSpaces)];  // trailing space
    }
    if (i + 1 < lines) text += rng.Below(3) == 0 ? "\r\n" : "\n";
  }
  return text + "last";  // a word right at the end: no final newline
}

void CountWords(std::string_view text, WordCounts* counts) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  std::string word;
  for (char c : text) {
    if (!is_space(c)) {
      word.push_back(c);
    } else if (!word.empty()) {
      ++(*counts)[word];
      word.clear();
    }
  }
  if (!word.empty()) ++(*counts)[word];
}

std::vector<std::string> WordCountLines(const WordCounts& counts) {
  std::vector<std::string> lines;
  for (const auto& [word, n] : counts) lines.push_back(word + "\t" + std::to_string(n));
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string TopTen(const WordCounts& counts) {
  std::vector<std::pair<std::string, int64_t>> all(counts.begin(), counts.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;  // stable over a map ordered by word: ties stay word-ascending
  for (size_t i = 0; i < all.size() && i < 10; ++i) {
    out += all[i].first + "\t" + std::to_string(all[i].second) + "\n";
  }
  return out;
}

// ------------------------------------------------------------------ city_report

namespace {

std::string Cents(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

// An amount written with 0, 1 or 2 decimals; `cents` is rounded to what is written.
std::string Amount(Rng& rng, int64_t* cents) {
  int64_t c = static_cast<int64_t>(rng.Below(200'000));
  switch (rng.Below(3)) {
    case 0:
      *cents = c - c % 100;
      return std::to_string(c / 100);
    case 1:
      *cents = c - c % 10;
      return std::to_string(c / 100) + "." + std::to_string((c % 100) / 10);
    default: {
      *cents = c;
      char buf[8];
      std::snprintf(buf, sizeof(buf), "%02lld", static_cast<long long>(c % 100));
      return std::to_string(c / 100) + "." + buf;
    }
  }
}

}  // namespace

CityData GenerateCityData(uint32_t seed, int users, int orders) {
  // "Kyoto" gets no active user: it must not appear in the report.
  static const char* const kCities[] = {"Amsterdam", "Berlin", "Lisbon", "New York",
                                        "São Paulo", "Zürich", "oslo",   "Kyoto"};
  constexpr int kNumCities = sizeof(kCities) / sizeof(kCities[0]);
  static const char* const kStatus[] = {"active", "active", "inactive", "banned", "active"};
  Rng rng(seed);
  CityData data;
  std::vector<int> city_of(users);
  std::map<std::string, int64_t> active, total;
  std::map<int, std::vector<int>> users_by_city;
  data.users_csv = "id,name,city,status\n";
  for (int id = 0; id < users; ++id) {
    int city = id < kNumCities ? id : static_cast<int>(rng.Below(kNumCities));
    // The first user of every city but Kyoto is active.
    std::string status = id < kNumCities - 1 ? "active" : kStatus[rng.Below(5)];
    if (std::string(kCities[city]) == "Kyoto" && status == "active") status = "banned";
    city_of[id] = city;
    users_by_city[city].push_back(id);
    if (status == "active") ++active[kCities[city]];
    data.users_csv += std::to_string(id) + ",user" + std::to_string(id) + "," + kCities[city] +
                      "," + status + "\n";
  }
  data.orders_csv = "id,user_id,amount\n";
  for (int id = 0; id < orders; ++id) {
    // The first orders cover every city, then
    // random users, and now and then a user who does not exist (left out).
    int user = id < kNumCities ? users_by_city[id].front() : static_cast<int>(rng.Below(users));
    bool ghost = id >= kNumCities && rng.Below(50) == 0;
    int64_t cents = 0;
    std::string amount = Amount(rng, &cents);
    if (ghost) {
      user = users + 1000 + id;
    } else {
      total[kCities[city_of[user]]] += cents;
    }
    data.orders_csv += std::to_string(10'000 + id) + "," + std::to_string(user) + "," + amount;
    if (id + 1 < orders) data.orders_csv += "\n";  // no final newline
  }
  for (const auto& [city, n] : active) {  // std::map: sorted by city, bytewise
    data.expected += city + "\t" + std::to_string(n) + "\t" + Cents(total[city]) + "\n";
  }
  return data;
}

// ------------------------------------------------------------------ ports

UnusedPort::UnusedPort(bool listen) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  if (listen) REQUIRE(::listen(fd_, 16) == 0);
}

bool UnusedPort::Connected() {
  int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return false;
  ::close(conn);
  return true;
}

UnusedPort::~UnusedPort() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SlowAppReference() {
  std::map<int64_t, int64_t> sums;
  for (int64_t x = 0; x < 16 * 400; ++x) sums[x % 97] += x;
  std::string out;
  for (const auto& [key, sum] : sums) StrAppend(&out, key, "\t", sum, "\n");
  return out;
}

}  // namespace kiln::test::jobs
