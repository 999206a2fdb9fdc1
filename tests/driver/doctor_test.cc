// The job doctor's rules on applications built from events: each finding is provoked by
// the evidence it names, and a healthy job gets none. Real jobs that provoke them are in
// tests/driver/local_doctor_test.cc and tests/jobs/doctor_test.cc.

#include "driver/doctor.h"

#include <string>
#include <vector>

#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

constexpr int64_t kMiB = 1 << 20;

struct FakeTask {
  int64_t ms = 100;
  int64_t shuffle_read = 0;
  std::string executor = "1";
  TaskState state = TaskState::kSuccess;
  std::string error;
  runtime::TaskMetrics extra;  // spills
};

// One job (0) of one stage (1) of `tasks` on executors "1" (h1) and "2" (h2), 2 cores each.
class FakeApp {
 public:
  explicit FakeApp(std::string read_partitioning = "hash", int num_partitions = -1) {
    store_.OnEvent(ExecutorAdded{.executor_id = "1", .host = "h1", .cores = 2});
    store_.OnEvent(ExecutorAdded{.executor_id = "2", .host = "h2", .cores = 2});
    store_.OnEvent(JobStart{.job_id = 0, .action = "count", .time_ms = 1000});
    partitioning_ = std::move(read_partitioning);
    num_partitions_ = num_partitions;
  }
  void Run(const std::vector<FakeTask>& tasks, int64_t stage_ms = 500) {
    const int n = num_partitions_ > 0 ? num_partitions_ : static_cast<int>(tasks.size());
    store_.OnEvent(StageSubmitted{.stage_id = 1,
                                  .job_id = 0,
                                  .name = "reduce_by_key",
                                  .num_tasks = static_cast<int>(tasks.size()),
                                  .num_partitions = n,
                                  .read_partitioning = partitioning_,
                                  .time_ms = 1000});
    for (size_t i = 0; i < tasks.size(); ++i) {
      const FakeTask& t = tasks[i];
      TaskEnd end{.task = TaskAttempt{.task_id = static_cast<int64_t>(i),
                                      .stage_id = 1,
                                      .index = static_cast<int>(i),
                                      .partition = static_cast<int>(i),
                                      .executor_id = t.executor,
                                      .host = t.executor == "1" ? "h1" : "h2",
                                      .launch_ms = 1000},
                  .state = t.state,
                  .error = t.error,
                  .finish_ms = 1000 + t.ms,
                  .metrics = t.extra};
      end.metrics.shuffle_bytes_read = t.shuffle_read;
      store_.OnEvent(TaskStart{end.task});
      store_.OnEvent(end);
    }
    store_.OnEvent(StageCompleted{.stage_id = 1, .time_ms = 1000 + stage_ms});
  }
  void Lose(const std::string& executor, const std::string& reason) {
    store_.OnEvent(ExecutorRemoved{
        .executor_id = executor, .reason = reason, .failed = true, .time_ms = 1200});
  }
  std::vector<Finding> Diagnose(bool succeeded = true, const std::string& error = "") {
    store_.OnEvent(JobEnd{.job_id = 0, .succeeded = succeeded, .error = error, .time_ms = 2000});
    return store_.Read([](const AppState& app) { return DiagnoseJob(app, 0, DoctorOptions{}); });
  }
  std::string Report(const std::vector<Finding>& findings) {
    return store_.Read([&](const AppState& app) { return FormatFindings(app, 0, findings); });
  }

 private:
  AppStatusStore store_;
  std::string partitioning_;
  int num_partitions_ = -1;
};

std::vector<FakeTask> Even(int n, int64_t ms = 100, int64_t bytes = 10 * kMiB) {
  std::vector<FakeTask> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(FakeTask{.ms = ms, .shuffle_read = bytes, .executor = i % 2 ? "2" : "1"});
  }
  return tasks;
}

TEST_CASE("doctor: a healthy job gets no finding", "[doctor]") {
  FakeApp app;
  app.Run(Even(8));
  const std::vector<Finding> findings = app.Diagnose();
  CHECK(findings.empty());
  CHECK(app.Report(findings).empty());
}

TEST_CASE("doctor: skew names the partition, its hash range and the fix", "[doctor]") {
  FakeApp app("hash");
  std::vector<FakeTask> tasks = Even(8);
  tasks[5].shuffle_read = 400 * kMiB;  // 40x the median, over 64 MiB
  app.Run(tasks);
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "skew");
  CHECK(findings[0].stage_id == 1);
  CHECK(findings[0].title ==
        "stage 1 (reduce_by_key): partition 5 read 400.0 MiB, 40x the median task's 10.0 MiB");
  CHECK(findings[0].evidence.at(1).find("hash(key) % 8 == 5") != std::string::npos);
  CHECK(findings[0].fix.find("salt the hot key") != std::string::npos);
  CHECK(
      app.Report(findings).starts_with("kiln doctor: job 0 (count): 1 finding\n  [skew] stage 1"));
}

TEST_CASE("doctor: a large partition under the threshold or factor is not skew", "[doctor]") {
  FakeApp small;
  std::vector<FakeTask> tasks = Even(8, 100, kMiB);
  tasks[0].shuffle_read = 60 * kMiB;  // 60x, but under 64 MiB
  small.Run(tasks);
  CHECK(small.Diagnose().empty());
  FakeApp even;
  tasks = Even(8, 100, 100 * kMiB);
  tasks[0].shuffle_read = 400 * kMiB;  // over 64 MiB, but 4x
  even.Run(tasks);
  CHECK(even.Diagnose().empty());
}

TEST_CASE("doctor: a spilling stage gets the memory or partitions that would hold it", "[doctor]") {
  FakeApp app;
  std::vector<FakeTask> tasks = Even(4);
  tasks[2].extra.spill_count = 3;
  tasks[2].extra.memory_bytes_spilled = 300 * kMiB;
  tasks[2].extra.disk_bytes_spilled = 90 * kMiB;
  tasks[2].extra.peak_execution_memory = 100 * kMiB;
  app.Run(tasks);
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "spill");
  CHECK(findings[0].title ==
        "stage 1 (reduce_by_key) spilled 300.0 MiB from memory (90.0 MiB on disk)");
  // It needed 400 MiB and had 100: 4x the memory, or 4x the partitions.
  CHECK(findings[0].fix.find("4x the execution memory") != std::string::npos);
  CHECK(findings[0].fix.find("from 1.0 GiB to 4.0 GiB") != std::string::npos);
  CHECK(findings[0].fix.find("from 4 to 16") != std::string::npos);
}

TEST_CASE("doctor: many tiny tasks get coalesce advice with a count", "[doctor]") {
  FakeApp app("", 1000);
  app.Run(Even(1000, 2, 0));
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "partitions");
  CHECK(findings[0].title.find("1000 tiny tasks (median 2 ms)") != std::string::npos);
  // 2000 ms of work in tasks of ~200 ms: 10 partitions, at least 2 per core (4 cores): 10.
  CHECK(findings[0].fix.starts_with("use about 10 partitions: coalesce(10)"));
}

TEST_CASE("doctor: fewer tasks than cores in a long stage get repartition advice", "[doctor]") {
  FakeApp app("", 1);
  app.Run({FakeTask{.ms = 5000}}, 5000);
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "partitions");
  CHECK(findings[0].title ==
        "stage 1 (reduce_by_key): 1 task(s) for 4 cores: 3 core(s) sat idle for 5.0 s");
  CHECK(findings[0].fix.find("repartition(8)") != std::string::npos);
  FakeApp quick("", 1);  // the same shape, but short: nothing worth saying
  quick.Run({FakeTask{.ms = 50}}, 50);
  CHECK(quick.Diagnose().empty());
}

TEST_CASE("doctor: a slow executor is named, but slow tasks with more input are not stragglers",
          "[doctor]") {
  FakeApp app;
  std::vector<FakeTask> tasks = Even(8, 100);
  for (FakeTask& t : tasks) {
    if (t.executor == "2") t.ms = 900;
  }
  app.Run(tasks);
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "straggler");
  CHECK(findings[0].title.find("executor 2 on host h2 is slow: 4 of its 4 task(s)") !=
        std::string::npos);
  CHECK(findings[0].fix.find("host h2") != std::string::npos);

  FakeApp bigger;
  tasks = Even(8, 100, kMiB);
  for (FakeTask& t : tasks) {
    if (t.executor == "2") {
      t.ms = 900;
      t.shuffle_read = 30 * kMiB;  // the time follows the data
    }
  }
  bigger.Run(tasks);
  for (const Finding& f : bigger.Diagnose()) CHECK(f.kind != "straggler");
}

TEST_CASE("doctor: retried attempts and a lost executor, with the side memory ran out on",
          "[doctor]") {
  FakeApp app;
  std::vector<FakeTask> tasks = Even(4);
  tasks.push_back(FakeTask{.state = TaskState::kFailed, .error = "user code threw: boom"});
  app.Run(tasks);
  app.Lose("2", "executor 2 on host h2 exceeded its memory limit of 1.4 GiB; last lines: ...");
  const std::vector<Finding> findings = app.Diagnose();
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == "failures");
  CHECK(findings[0].title ==
        "1 task attempt(s) failed, 1 executor(s) lost; retried, the job succeeded (executor-side "
        "memory)");
  CHECK(findings[0].evidence.at(0).find("exceeded its memory limit") != std::string::npos);
  CHECK(findings[0].evidence.at(1).find("user code threw: boom") != std::string::npos);
  CHECK(findings[0].fix.find("--executor-memory") != std::string::npos);

  FakeApp driver_side;
  driver_side.Run(Even(4));
  const std::vector<Finding> driver_findings = driver_side.Diagnose(
      false, "the results (1.2 GiB) are bigger than kiln.driver.maxResultSize (1.0 GiB)");
  REQUIRE(driver_findings.size() == 1);
  CHECK(driver_findings[0].title.ends_with("the job failed (driver-side memory)"));
  CHECK(driver_findings[0].fix.find("collect()") != std::string::npos);
}

}  // namespace
}  // namespace kiln::internal
