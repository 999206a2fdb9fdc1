#pragma once
// Helpers of the end-to-end job tests (tests/jobs/): running kiln-submit, reading a
// job's output directory, seeded inputs and the references the tests compare with —
// computed here with code independent of the product's. Not thread-safe (one test
// thread).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/mini_cluster.h"
#include "tests/support/run_command.h"

namespace kiln::test::jobs {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Milliseconds since `start`, for messages.
inline int64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// build/bin/<name> (kiln-submit, kiln-master, wordcount, city_report).
std::string BinPath(const std::string& name);
// The test applications of tests/apps (failing_app, api_app).
std::string AppPath(const std::string& name);

// kiln-submit --master MASTER FLAGS... APP APP_ARGS..., with a deadline. The console
// progress bar is off (stderr is a file anyway) so that stderr holds only messages.
CommandResult Submit(const std::string& master, const std::vector<std::string>& flags,
                     const std::string& app, const std::vector<std::string>& app_args,
                     milliseconds timeout = seconds(60));

// The application id kiln-submit printed ("kiln-submit: application ID (NAME) on ..."),
// or "".
std::string AppIdFromStderr(const std::string& err);

// The entry of application `id` in the master's /json list `list` ("activeapps" or
// "completedapps"), or null.
Json FindApp(const Json& state, const char* list, const std::string& id);

// Application `id`'s entry in the master's "completedapps", waiting up to `timeout` for
// it to appear; null if it does not.
Json WaitForCompletedApp(const MiniCluster& cluster, const std::string& id,
                         milliseconds timeout = seconds(15));
// OK once the application kiln-submit announced on `err` is among the completed ones in
// `state` (FINISHED, FAILED, KILLED); the error quotes /json.
absl::Status CheckAppEnded(const MiniCluster& cluster, const std::string& err,
                           const std::string& state);
// Waits until every worker's dir of `app` holds only its executors' logs
// (executor-<n>/stdout and stderr, kept of a failed application); `stderr_text` gets
// the executors' stderr concatenated. The error names what is left besides.
absl::Status CheckOnlyLogsLeft(const MiniCluster& cluster, const std::string& app,
                               std::string* stderr_text);
// OK when the master has never had an application (none active, none completed).
absl::Status CheckNoApplications(const MiniCluster& cluster);

// The check that ends every cluster test: the master's leak check
// (MiniCluster::CheckNoLeaks: resources free, no executor process), then every running
// worker's own GET /json lists no executor (it has reaped them and reported their end). The
// error says what is left.
absl::Status CheckClusterIdle(const MiniCluster& cluster, milliseconds timeout = seconds(30));

// --- Files (a failure to write or read fails the test) ---
void WriteTestFile(const std::string& path, std::string_view content);
std::string ReadTestFile(const std::string& path);
bool PathExists(const std::string& path);
// Names of the entries of `dir`, sorted; empty if it cannot be read.
std::vector<std::string> ListDir(const std::string& dir);
// part-NNNNN files of an output dir, sorted by name.
std::vector<std::string> PartFiles(const std::string& dir);
// The concatenation of the part files, in part order.
std::string ReadParts(const std::string& dir);
// The driver's final message ("kiln: ..."), the last such line of its stderr `err`.
std::string DriverMessage(const std::string& err);
// `text` cut at '\n'; a final line without '\n' is kept as it is (so a missing final
// newline shows up as a mismatch in the tests, not as a silently fixed line).
std::vector<std::string> SplitLines(std::string_view text);
// The lines of `text`, sorted: a multiset to compare.
std::vector<std::string> SortedLines(std::string_view text);

// --- Wordcount ---
// Seeded text: `lines` lines of words drawn from a small vocabulary with punctuation,
// separated by mixed ASCII whitespace (' ', \t, \v, \f, \r, runs of them), some empty
// or blank lines, \n or \r\n line ends, and no final newline.
std::string GenerateText(uint32_t seed, int lines);
// Words are maximal runs of bytes other than ' ', \t, \n, \v, \f, \r.
using WordCounts = std::map<std::string, int64_t>;
void CountWords(std::string_view text, WordCounts* counts);
// "word\tcount" lines, sorted (the multiset of an output dir's lines).
std::vector<std::string> WordCountLines(const WordCounts& counts);
// The 10 most frequent words as wordcount prints them: count desc, then word asc.
std::string TopTen(const WordCounts& counts);

// --- slow_app ---
// Its output, computed here: the numbers 0..6399 summed by x % 97, "key\tsum" lines in
// key order.
std::string SlowAppReference();

// --- city_report ---
struct CityData {
  std::string users_csv;   // "id,name,city,status" + rows
  std::string orders_csv;  // "id,user_id,amount" + rows
  std::string expected;    // the report: "city\tactive\ttotal\n" lines sorted by city
};
CityData GenerateCityData(uint32_t seed, int users, int orders);

// A TCP port on 127.0.0.1 that no server answers on while this object lives, so nobody
// else can take it. Without `listen` the socket is only bound: connecting is refused.
// With `listen` connections are queued but never served, and Connected() tells whether
// anything connected (a check that a process failed before connecting).
class UnusedPort {
 public:
  explicit UnusedPort(bool listen = false);
  ~UnusedPort();
  UnusedPort(const UnusedPort&) = delete;
  UnusedPort& operator=(const UnusedPort&) = delete;
  int port() const { return port_; }
  std::string url() const { return "kiln://127.0.0.1:" + std::to_string(port_); }
  // Listening only: true once a connection was made (it is accepted and closed).
  bool Connected();

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Small deterministic generator (the same numbers on every platform).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  uint64_t Next();
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace kiln::test::jobs
