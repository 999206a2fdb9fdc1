// The job doctor and the event log on real jobs in local mode: a skewed key, a task that
// spills, 10,000 tiny partitions and a task that fails once each get their finding; a
// healthy job gets none; the event log holds every task with its metrics.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/key_hash.h"
#include "common/strings.h"
#include "driver/event_log.h"
#include "driver/kiln.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using test::TempDir;
using Pair = std::pair<std::string, int64_t>;

Context LocalApp(const std::string& master, std::vector<std::string> conf) {
  conf.push_back("kiln.ui.showConsoleProgress=false");
  return Context(ContextOptions{.master = master,
                                .app_name = "doctor-test",
                                .conf = std::move(conf),
                                .exit_on_failure = false});
}

std::vector<std::string> Kinds(const std::vector<JobFinding>& findings) {
  std::vector<std::string> kinds;
  for (const JobFinding& f : findings) kinds.push_back(f.kind);
  return kinds;
}

std::string Describe(const std::vector<JobFinding>& findings) {
  std::string out;
  for (const JobFinding& f : findings)
    StrAppend(&out, "[", f.kind, "] ", f.title, "; fix: ", f.fix, "\n");
  return out;
}

// n records; `hot` of every 10 have the key "hot", the rest spread over keys "key-<i % 1000>". The
// values are scrambled so that the shuffle blocks do not compress away.
std::vector<Pair> Skewed(int64_t n, int64_t hot) {
  std::vector<Pair> records;
  records.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t value = static_cast<int64_t>(MixHash(static_cast<uint64_t>(i)));
    records.emplace_back(i % 10 < hot ? "hot" : "key-" + std::to_string(i % 1000), value);
  }
  return records;
}

TEST_CASE("doctor: a healthy job gets no finding, and the event log holds every task",
          "[local][doctor]") {
  TempDir dir("kiln-doctor-");
  std::string app_id;
  {
    Context ctx = LocalApp(
        "local[2]", {"kiln.eventLog.enabled=true", "kiln.eventLog.dir=" + dir.Sub("events")});
    app_id = ctx.app_id();
    const auto sums = ctx.parallelize(Skewed(40'000, 0), 4)
                          .reduce_by_key([](int64_t a, int64_t b) { return a ^ b; }, 4)
                          .collect();
    CHECK(sums.size() == 1000);
    const std::vector<JobFinding> findings = ctx.last_job_findings();
    INFO(Describe(findings));
    CHECK(findings.empty());
    // Readable while the application runs.
    absl::StatusOr<internal::EventLogContents> running =
        internal::ReadEventLog(dir.Sub("events/" + app_id + ".inprogress"));
    REQUIRE_OK(running);
    CHECK(std::holds_alternative<internal::JobEnd>(running->events.back()));
  }
  absl::StatusOr<internal::EventLogContents> log =
      internal::ReadEventLog(dir.Sub("events/" + app_id));
  REQUIRE_OK(log);
  REQUIRE_FALSE(log->events.empty());
  CHECK(std::get<internal::ApplicationStart>(log->events.front()).app_id == app_id);
  CHECK(std::get<internal::ApplicationEnd>(log->events.back()).final_state == "FINISHED");
  int ended = 0;
  int64_t input_records = 0, shuffle_written = 0, shuffle_read = 0, results = 0;
  for (const internal::Event& e : log->events) {
    const auto* end = std::get_if<internal::TaskEnd>(&e);
    if (end == nullptr) continue;
    ++ended;
    CHECK(end->state == internal::TaskState::kSuccess);
    CHECK(end->finish_ms >= end->task.launch_ms);
    CHECK(end->metrics.run_nanos > 0);
    if (end->task.stage_id == 0) input_records += end->metrics.records_read;
    shuffle_written += end->metrics.shuffle_bytes_written;
    shuffle_read += end->metrics.shuffle_local_bytes + end->metrics.shuffle_remote_bytes;
    results += end->metrics.result_bytes;
  }
  CHECK(ended == 8);  // 4 map tasks, 4 reduce tasks
  CHECK(input_records == 40'000);
  CHECK(shuffle_written > 0);
  CHECK(shuffle_read == shuffle_written);  // every block read once, from the local disk
  CHECK(results > 0);
}

TEST_CASE("doctor: a skewed key is named with its partition", "[local][doctor]") {
  Context ctx = LocalApp("local[2]", {"kiln.doctor.skewedPartitionThreshold=1m"});
  const auto groups = ctx.parallelize(Skewed(300'000, 9), 4).group_by_key(8).collect();
  CHECK(groups.size() == 101);  // "hot", and key-9, key-19, ... key-999
  const std::vector<JobFinding> findings = ctx.last_job_findings();
  INFO(Describe(findings));
  REQUIRE(Kinds(findings) == std::vector<std::string>{"skew"});
  const int hot = static_cast<int>(KeyHash<std::string>()("hot") % 8);
  CHECK(findings[0].title.find(StrCat("(group_by_key): partition ", hot, " read ")) !=
        std::string::npos);
  CHECK(findings[0].evidence.at(1).find(StrCat("hash(key) % 8 == ", hot)) != std::string::npos);
}

TEST_CASE("doctor: a task that spills gets the memory that would have held it", "[local][doctor]") {
  TempDir scratch("kiln-doctor-");
  Context ctx = LocalApp("local[2]", {"kiln.driver.memory=450m", "kiln.memory.fraction=0.01",
                                      "kiln.local.dir=" + scratch.path()});
  std::vector<Pair> input = Skewed(200'000, 0);
  const auto sorted = ctx.parallelize(input, 4).sort_by_key(true, 3).collect();
  CHECK(sorted.size() == input.size());
  const std::vector<JobFinding> findings = ctx.last_job_findings();
  INFO(Describe(findings));
  // The reduce side's merge spills; the map side's buffers do too when its tasks run at the
  // same time and share the memory (on a loaded machine they may not).
  REQUIRE_FALSE(findings.empty());
  REQUIRE(findings.size() <= 2);
  for (const JobFinding& f : findings) CHECK(f.kind == "spill");
  const JobFinding& reduce = findings.back();
  CHECK(reduce.title.find("(sort_by_key) spilled ") != std::string::npos);
  // Local mode: the tasks share the driver's memory.
  CHECK(reduce.fix.find("raise kiln.driver.memory from 450.0 MiB to ") != std::string::npos);
}

TEST_CASE("doctor: 10,000 tiny partitions get coalesce advice", "[local][doctor]") {
  Context ctx = LocalApp("local[2]", {});
  std::vector<int64_t> numbers(10'000);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  CHECK(ctx.parallelize(numbers, 10'000).map([](int64_t x) { return x * 2; }).count() == 10'000);
  const std::vector<JobFinding> findings = ctx.last_job_findings();
  INFO(Describe(findings));
  REQUIRE(Kinds(findings) == std::vector<std::string>{"partitions"});
  CHECK(findings[0].title.find("10000 tiny tasks") != std::string::npos);
  CHECK(findings[0].fix.find("coalesce(") != std::string::npos);
  // Said nothing when told not to.
  Context quiet = LocalApp("local[2]", {"kiln.doctor.enabled=false"});
  CHECK(quiet.parallelize(numbers, 10'000).count() == 10'000);
  CHECK(quiet.last_job_findings().empty());
  // Nothing listens (no doctor, no UI, no event log): no events are built, jobs run the same.
  Context bare = LocalApp("local[2]", {"kiln.doctor.enabled=false", "kiln.ui.enabled=false"});
  CHECK(bare.parallelize(numbers, 100).map([](int64_t x) { return x + 1; }).count() == 10'000);
  CHECK(bare.parallelize(numbers, 3).filter([](int64_t x) { return x < 10; }).count() == 10);
  CHECK(bare.ui_url().empty());
  CHECK(bare.last_job_findings().empty());
}

TEST_CASE("doctor: a task that failed once and was retried is reported with its error",
          "[local][doctor]") {
  TempDir dir("kiln-doctor-");
  std::array<char, 512> marker{};  // lambdas ship trivially copyable captures only
  dir.Sub("failed-once").copy(marker.data(), marker.size() - 1);
  Context ctx = LocalApp("local[2,2]", {});  // 2 attempts per task
  std::vector<int64_t> numbers(1000);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  const int64_t n = ctx.parallelize(numbers, 4)
                        .map([marker](int64_t x) {
                          if (x == 600) {
                            const int fd = ::open(marker.data(), O_WRONLY | O_CREAT | O_EXCL, 0644);
                            if (fd >= 0) {
                              ::close(fd);
                              throw std::runtime_error("first attempt fails");
                            }
                          }
                          return x;
                        })
                        .count();
  CHECK(n == 1000);
  const std::vector<JobFinding> findings = ctx.last_job_findings();
  INFO(Describe(findings));
  REQUIRE(Kinds(findings) == std::vector<std::string>{"failures"});
  CHECK(findings[0].title == "1 task attempt(s) failed; retried, the job succeeded");
  CHECK(findings[0].evidence.at(0).find("first attempt fails") != std::string::npos);
}

}  // namespace
}  // namespace kiln
