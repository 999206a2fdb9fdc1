// Events as JSON lines, the bus that delivers them, the event log's writer and reader,
// and the status store that replays them.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "driver/app_status.h"
#include "driver/event_bus.h"
#include "driver/event_json.h"
#include "driver/event_log.h"
#include "google/protobuf/descriptor.h"
#include "proto/task.pb.h"
#include "runtime/task_metrics.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::internal {
namespace {

using test::TempDir;

TaskEnd SampleTaskEnd(int64_t task_id, int stage_id, TaskState state, int64_t ms,
                      int64_t shuffle_read = 0) {
  TaskEnd e{.task = TaskAttempt{.task_id = task_id,
                                .stage_id = stage_id,
                                .index = static_cast<int>(task_id),
                                .partition = static_cast<int>(task_id),
                                .executor_id = "1",
                                .host = "h1",
                                .launch_ms = 1000},
            .state = state,
            .finish_ms = 1000 + ms};
  e.metrics.run_nanos = ms * 1000000;
  e.metrics.shuffle_bytes_read = shuffle_read;
  e.metrics.records_read = 7;
  return e;
}

TEST_CASE("events: every kind survives JSON and back", "[events]") {
  ApplicationStart start{.app_id = "app-1", .app_name = "wc", .time_ms = 5};
  start.settings.push_back({.key = "kiln.a", .value = "b\n\"c\"", .source = "conf"});
  TaskEnd end = SampleTaskEnd(3, 2, TaskState::kFailed, 40, 1234);
  end.error = "boom \xff invalid utf-8";
  end.metrics.peak_execution_memory = 99;
  const std::vector<Event> events = {
      start,
      ApplicationEnd{.final_state = "FINISHED", .time_ms = 9},
      JobStart{.job_id = 4, .action = "count", .partitions = 8, .time_ms = 6},
      JobEnd{.job_id = 4, .succeeded = false, .error = "x", .time_ms = 7},
      StageSubmitted{.stage_id = 2,
                     .job_id = 4,
                     .name = "map",
                     .num_tasks = 3,
                     .num_partitions = 8,
                     .shuffle_id = 1,
                     .read_partitioning = "hash"},
      StageCompleted{.stage_id = 2, .failure = "f"},
      StageCompleted{.stage_id = 3,
                     .accumulables = {{.id = 1, .name = "bad", .update = "2", .value = "5"}}},
      TaskStart{end.task},
      end,
      ExecutorAdded{.executor_id = "1", .host = "h1", .cores = 2, .worker_id = "w"},
      ExecutorRemoved{.executor_id = "1", .reason = "gone", .failed = true},
      BlockUpdated{.executor_id = "1", .dataset = 5, .partition = 6, .stored = true, .bytes = 77},
  };
  for (const Event& e : events) {
    const std::string line = EventToJson(e);
    INFO(line);
    CHECK(line.find('\n') == std::string::npos);
    absl::StatusOr<std::optional<Event>> back = EventFromJson(line);
    REQUIRE_OK(back);
    REQUIRE(back->has_value());
    CHECK((*back)->index() == e.index());
    CHECK(EventToJson(**back) == line);
  }
  const TaskEnd& read = std::get<TaskEnd>(**EventFromJson(EventToJson(end)));
  CHECK(read.metrics.shuffle_bytes_read == 1234);
  CHECK(read.metrics.peak_execution_memory == 99);
  CHECK(read.task.executor_id == "1");
  CHECK(read.error.starts_with("boom "));  // the bad byte replaced, not thrown over
  const StageCompleted& stage = std::get<StageCompleted>(**EventFromJson(EventToJson(events[6])));
  REQUIRE(stage.accumulables.size() == 1);
  CHECK(stage.accumulables[0].name == "bad");
  CHECK(stage.accumulables[0].value == "5");
}

TEST_CASE("events: KILN_TASK_METRICS lists every field of proto::TaskMetrics, in order",
          "[events]") {
  std::vector<std::string> listed;
#define KILN_LIST_METRIC(name) listed.push_back(#name);
  KILN_TASK_METRICS(KILN_LIST_METRIC)
#undef KILN_LIST_METRIC
  std::vector<std::string> fields;
  const google::protobuf::Descriptor* d = proto::TaskMetrics::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    CHECK(d->field(i)->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64);
    fields.push_back(d->field(i)->name());
  }
  CHECK(listed == fields);
  // Summing: every field adds up, but the peak, which keeps the larger.
  runtime::TaskMetrics a, b;
  a.shuffle_remote_bytes = 5;
  a.peak_execution_memory = 7;
  b.shuffle_remote_bytes = 6;
  b.peak_execution_memory = 3;
  b.result_bytes = 1;
  runtime::TaskMetrics sum, other;
  runtime::AddTaskMetrics(a, &sum);
  runtime::AddTaskMetrics(b, &sum);
  runtime::AddTaskMetrics(b, &other);
  CHECK(sum.shuffle_remote_bytes == 11);
  CHECK(sum.peak_execution_memory == 7);
  CHECK(sum.result_bytes == 1);
  CHECK(other.shuffle_remote_bytes == 6);
  CHECK(other.peak_execution_memory == 3);
  // Through the proto form and back, every field survives.
  runtime::TaskMetrics all;
  int64_t n = 0;
#define KILN_SET_METRIC(name) all.name = ++n;
  KILN_TASK_METRICS(KILN_SET_METRIC)
#undef KILN_SET_METRIC
  proto::TaskMetrics message;
  runtime::MetricsToProto(all, &message);
  CHECK(message.broadcast_fetch_nanos() == n);  // the last one
  const runtime::TaskMetrics back = runtime::MetricsFromProto(message);
  CHECK(std::memcmp(&back, &all, sizeof(all)) == 0);
}

TEST_CASE("events: unknown kinds are skipped, bad lines name what is wrong", "[events]") {
  absl::StatusOr<std::optional<Event>> unknown =
      EventFromJson(R"({"Event":"FromTheFuture","x":1})");
  REQUIRE_OK(unknown);
  CHECK_FALSE(unknown->has_value());
  // Missing fields take their defaults; unknown fields are ignored.
  absl::StatusOr<std::optional<Event>> sparse = EventFromJson(R"({"Event":"JobStart","new":1})");
  REQUIRE_OK(sparse);
  CHECK(std::get<JobStart>(**sparse).job_id == 0);
  CHECK(test::Message(EventFromJson("{not json").status()) == "not a JSON object");
  CHECK(test::Message(EventFromJson(R"({"x":1})").status()).find("\"Event\"") != std::string::npos);
  CHECK(test::Message(EventFromJson(R"({"Event":"JobStart","job_id":"seven"})").status())
            .find("JobStart") != std::string::npos);
  // A task's state is one of Spark's names, read back as it was written.
  absl::StatusOr<std::optional<Event>> killed =
      EventFromJson(R"({"Event":"TaskEnd","state":"KILLED"})");
  REQUIRE_OK(killed);
  CHECK(std::get<TaskEnd>(**killed).state == TaskState::kKilled);
  CHECK(EventToJson(**killed).find(R"("state":"KILLED")") != std::string::npos);
  CHECK(test::Message(EventFromJson(R"({"Event":"TaskEnd","state":"MELTED"})").status()) ==
        "TaskEnd: unknown task state \"MELTED\"");
}

class Recorder final : public EventListener {
 public:
  void OnEvent(const Event& e) override { names.emplace_back(EventName(e)); }
  std::vector<std::string> names;  // read after Flush/Stop only
};

TEST_CASE("event bus: a disabled bus (nothing listens) drops every event and starts nothing",
          "[events]") {
  Recorder recorder;
  EventBus bus(/*enabled=*/false);
  CHECK_FALSE(bus.enabled());
  bus.AddListener(&recorder);
  bus.PostFirst(JobStart{});
  bus.Start();
  bus.Post(JobEnd{});
  std::vector<Event> batch = {JobStart{.job_id = 1}, JobEnd{.job_id = 1}};
  bus.PostAll(&batch);
  CHECK(batch.empty());
  bus.Flush();  // returns at once: there is no thread to wait for
  bus.Stop();
  CHECK(recorder.names.empty());
}

TEST_CASE("event bus: delivers in order to every listener, Flush waits, the start goes first",
          "[events]") {
  Recorder a, b;
  EventBus bus;
  bus.AddListener(&a);
  bus.AddListener(&b);
  bus.Post(ExecutorAdded{});  // before Start: waits for it
  bus.PostFirst(ApplicationStart{});
  bus.Start();
  for (int i = 0; i < 1000; ++i) bus.Post(JobStart{.job_id = i});
  bus.Post(JobEnd{});
  bus.Flush();
  REQUIRE(a.names.size() == 1003);
  CHECK(a.names.front() == "ApplicationStart");
  CHECK(a.names[1] == "ExecutorAdded");
  CHECK(a.names.back() == "JobEnd");
  CHECK(b.names == a.names);
  bus.Post(ApplicationEnd{});
  bus.Stop();  // delivers what is queued
  CHECK(a.names.back() == "ApplicationEnd");
  bus.Post(JobStart{});  // after Stop: dropped
  bus.Flush();           // returns at once
  CHECK(a.names.size() == 1004);
}

TEST_CASE("event log: in progress while running, flushed at each job's end, renamed at the end",
          "[events]") {
  TempDir dir("kiln-eventlog-");
  const std::string logs = dir.Sub("a/b");  // made when missing
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer = EventLogWriter::Open(logs, "app-7");
  REQUIRE_OK(writer);
  const std::string running = logs + "/app-7.inprogress";
  CHECK((*writer)->path() == running);
  (*writer)->OnEvent(ApplicationStart{.app_id = "app-7"});
  (*writer)->OnEvent(JobStart{.job_id = 0});
  (*writer)->OnEvent(SampleTaskEnd(0, 0, TaskState::kSuccess, 5));
  (*writer)->OnEvent(JobEnd{.job_id = 0, .succeeded = true});
  // Readable while running: everything up to the job's end is on disk.
  absl::StatusOr<EventLogContents> mid = ReadEventLog(running);
  REQUIRE_OK(mid);
  CHECK(mid->events.size() == 4);
  CHECK_FALSE(mid->truncated);
  // A second driver with the same id is refused, naming the setting.
  absl::StatusOr<std::unique_ptr<EventLogWriter>> again = EventLogWriter::Open(logs, "app-7");
  REQUIRE_FALSE(again.ok());
  CHECK(test::Message(again.status()).find("kiln.eventLog.dir") != std::string::npos);
  (*writer)->OnEvent(ApplicationEnd{.final_state = "FINISHED"});
  CHECK_FALSE(std::filesystem::exists(running));
  absl::StatusOr<EventLogContents> done = ReadEventLog(logs + "/app-7");
  REQUIRE_OK(done);
  REQUIRE(done->events.size() == 5);
  CHECK(std::get<ApplicationEnd>(done->events.back()).final_state == "FINISHED");
}

TEST_CASE("event log: an unusable directory is refused naming the setting", "[events]") {
  TempDir dir("kiln-eventlog-");
  REQUIRE_OK(WriteFileAtomic(dir.Sub("file"), "x"));
  absl::StatusOr<std::unique_ptr<EventLogWriter>> writer =
      EventLogWriter::Open(dir.Sub("file/logs"), "app-1");
  REQUIRE_FALSE(writer.ok());
  CHECK(test::Message(writer.status()).starts_with("kiln.eventLog.dir: "));
}

TEST_CASE("event log: a log cut mid-line by a crash is read up to it, a bad line is named",
          "[events]") {
  TempDir dir("kiln-eventlog-");
  const std::string whole = EventToJson(JobStart{.job_id = 1}) + "\n" + R"({"Event":"Unknown"})" +
                            "\n" + EventToJson(JobEnd{.job_id = 1, .succeeded = true}) + "\n";
  const std::string cut = EventToJson(JobStart{.job_id = 2});
  REQUIRE_OK(WriteFileAtomic(dir.Sub("cut"), whole + cut.substr(0, cut.size() / 2)));
  absl::StatusOr<EventLogContents> log = ReadEventLog(dir.Sub("cut"));
  REQUIRE_OK(log);
  CHECK(log->events.size() == 2);
  CHECK(log->unknown == 1);
  CHECK(log->truncated);

  REQUIRE_OK(WriteFileAtomic(dir.Sub("bad"), whole + "{oops\n" + whole));
  absl::StatusOr<EventLogContents> bad = ReadEventLog(dir.Sub("bad"));
  REQUIRE_FALSE(bad.ok());
  CHECK(test::Message(bad.status()).find(dir.Sub("bad") + " line 4: ") != std::string::npos);
}

TEST_CASE("events: packed task metrics come back as they went in", "[events]") {
  const auto round_trip = [](const runtime::TaskMetrics& m) {
    const runtime::TaskMetrics back = runtime::PackedTaskMetrics(m).Unpack();
    return std::memcmp(&back, &m, sizeof(m)) == 0;
  };
  CHECK(round_trip(runtime::TaskMetrics{}));
  const runtime::TaskMetrics none = runtime::PackedTaskMetrics().Unpack();  // default: zeros
  CHECK(none.run_nanos == 0);
  CHECK(none.broadcast_fetch_nanos == 0);
  // Each field alone, at both ends of the range: a field packed in another's place, or a
  // large or negative value cut short, would come back different.
  int field = 0;
#define KILN_ONE_METRIC(name)                                                \
  for (int64_t v : {int64_t{1}, INT64_MAX, int64_t{-5}, int64_t{1} << 40}) { \
    runtime::TaskMetrics m;                                                  \
    m.name = v;                                                              \
    INFO("field " << field << " (" #name ") = " << v);                       \
    CHECK(round_trip(m));                                                    \
  }                                                                          \
  ++field;
  KILN_TASK_METRICS(KILN_ONE_METRIC)
#undef KILN_ONE_METRIC
  runtime::TaskMetrics all;
  int64_t n = 1;
#define KILN_SET_METRIC(name) all.name = (n *= 7);
  KILN_TASK_METRICS(KILN_SET_METRIC)
#undef KILN_SET_METRIC
  CHECK(round_trip(all));
}

TEST_CASE("status store: a row keeps its attempt's executor, host, metrics and error", "[events]") {
  AppStatusStore store;
  store.OnEvent(StageSubmitted{.stage_id = 0, .num_tasks = 3});
  TaskEnd a = SampleTaskEnd(0, 0, TaskState::kSuccess, 10, 300);
  a.metrics.input_bytes = 20;
  a.metrics.broadcast_fetch_nanos = 123456789;
  TaskEnd b = SampleTaskEnd(1, 0, TaskState::kFailed, 5);
  b.task.executor_id = "2";
  b.task.host = "h2";
  b.task.speculative = true;
  b.task.attempt = 1;
  b.error = "boom";
  TaskEnd c = SampleTaskEnd(2, 0, TaskState::kSuccess, 1);  // same place as a's
  store.OnEvent(TaskStart{a.task});
  store.OnEvents(std::vector<Event>{b, a, c});
  store.Read([&](const AppState& s) {
    const StageRow& st = s.stages.at({0, 0});
    const TaskRow* ra = st.FindTask(0);
    const TaskRow* rb = st.FindTask(1);
    const TaskRow* rc = st.FindTask(2);
    REQUIRE(ra != nullptr);
    REQUIRE(rb != nullptr);
    REQUIRE(rc != nullptr);
    CHECK(ra->executor_id() == "1");
    CHECK(ra->host() == "h1");
    CHECK(rb->executor_id() == "2");
    CHECK(rb->host() == "h2");
    CHECK(ra->place == rc->place);  // interned: one place per executor and host
    CHECK(rb->speculative);
    CHECK(rb->attempt == 1);
    CHECK(rb->error == "boom");
    CHECK(ra->error.empty());
    CHECK(ra->read_bytes == 320);
    CHECK(ra->metrics().shuffle_bytes_read == 300);
    CHECK(ra->metrics().broadcast_fetch_nanos == 123456789);
    CHECK(ra->metrics().records_read == 7);
    CHECK(ra->duration_ms() == 10);
    CHECK(rb->metrics().run_nanos == 5'000'000);
    return 0;
  });
}

TEST_CASE("status store: stages, executors and blocks from events, and retention keeps totals",
          "[events]") {
  AppStatusStore store(
      AppStatusLimits{.retained_jobs = 1, .retained_stages = 2, .retained_tasks = 3});
  store.OnEvent(ExecutorAdded{.executor_id = "1", .host = "h1", .cores = 2});
  store.OnEvent(ExecutorAdded{.executor_id = "2", .host = "h2", .cores = 4});
  for (int job = 0; job < 3; ++job) {
    store.OnEvent(JobStart{.job_id = job});
    store.OnEvent(StageSubmitted{.stage_id = job, .job_id = job, .num_tasks = 5});
    for (int t = 0; t < 5; ++t) {
      TaskEnd end = SampleTaskEnd(job * 10 + t, job,
                                  t == 4 ? TaskState::kFailed : TaskState::kSuccess, 10, 100);
      store.OnEvent(TaskStart{end.task});
      store.OnEvent(end);
    }
    store.OnEvent(StageCompleted{.stage_id = job});
    store.OnEvent(JobEnd{.job_id = job, .succeeded = true});
  }
  store.OnEvent(
      BlockUpdated{.executor_id = "2", .dataset = 1, .partition = 0, .stored = true, .bytes = 9});
  store.OnEvent(
      BlockUpdated{.executor_id = "1", .dataset = 1, .partition = 1, .stored = true, .bytes = 9});
  store.OnEvent(
      ExecutorRemoved{.executor_id = "2", .reason = "lost", .failed = true, .time_ms = 5});
  store.Read([](const AppState& s) {
    CHECK(s.jobs.size() == 1);  // the last one
    CHECK(s.jobs.begin()->first == 2);
    REQUIRE(s.stages.size() == 2);
    const StageRow& last = s.stages.rbegin()->second;
    CHECK(last.status == "COMPLETE");
    CHECK(last.tasks.size() == 3);  // the oldest finished two forgotten...
    CHECK(last.succeeded_tasks == 4);
    CHECK(last.failed_tasks == 1);
    CHECK(last.totals.shuffle_bytes_read == 400);  // ...but still counted
    CHECK(last.active_tasks == 0);
    const ExecutorRow& one = s.executors.at("1");
    CHECK(one.succeeded_tasks == 12);
    CHECK(one.failed_tasks == 3);
    CHECK(one.task_time_ms == 150);
    CHECK(s.executors.at("2").failed);
    CHECK_FALSE(s.executors.at("2").active);
    CHECK(s.ActiveCores() == 2);
    CHECK(s.blocks.size() == 1);  // the lost executor's block went with it
    return 0;
  });
}

TEST_CASE("status store: task ends find their rows when stages interleave their task ids",
          "[events]") {
  AppStatusStore store(AppStatusLimits{});
  store.OnEvent(ExecutorAdded{.executor_id = "1", .host = "h1", .cores = 2});
  for (int stage = 0; stage < 2; ++stage) {
    store.OnEvent(StageSubmitted{.stage_id = stage, .job_id = 0, .num_tasks = 50});
  }
  // Stage 0 gets ids 0..19 then 40..69, stage 1 the 20 between: the id of a stage-0 task
  // past 19 is not its position. Ends come in another order than starts.
  std::vector<TaskEnd> ends;
  for (int64_t id = 0; id < 90; ++id) {
    const int stage = id >= 20 && id < 40 ? 1 : (id < 70 ? 0 : 1);
    ends.push_back(SampleTaskEnd(id, stage, TaskState::kSuccess, 10, 1));
    store.OnEvent(TaskStart{ends.back().task});
  }
  std::reverse(ends.begin() + 30, ends.end());
  for (const TaskEnd& end : ends) store.OnEvent(end);
  store.Read([](const AppState& s) {
    for (int stage = 0; stage < 2; ++stage) {
      const StageRow& row = s.stages.at({stage, 0});
      CHECK(row.tasks.size() == (stage == 0 ? 50u : 40u));
      CHECK(row.active_tasks == 0);
      CHECK(row.succeeded_tasks == static_cast<int>(row.tasks.size()));
      for (const TaskRow& t : row.tasks) {
        CHECK(t.finished());
        CHECK(row.FindTask(t.task_id) == &t);
      }
      CHECK(row.FindTask(stage == 0 ? 25 : 5) == nullptr);
    }
    return 0;
  });
}

TEST_CASE("status store: ends out of id order, rows by id, and a trim that keeps running rows",
          "[events]") {
  AppStatusStore store(AppStatusLimits{.retained_tasks = 10});
  store.OnEvent(ExecutorAdded{.executor_id = "1", .host = "h1", .cores = 2});
  store.OnEvent(StageSubmitted{.stage_id = 0, .job_id = 0, .num_tasks = 40});
  auto end = [&](int64_t id, TaskState state, int64_t ms) {
    store.OnEvent(SampleTaskEnd(id, 0, state, ms));
  };
  // Tasks 2..6 end without a start; then 0 and 1 start (their rows come after those) and
  // run on while 7..29 end, two executors' ends interleaved (odd ids first, then even).
  // Each row past 10 trims the oldest finished one: the running rows move up.
  for (int64_t id = 2; id < 7; ++id) end(id, TaskState::kSuccess, 1);
  for (int64_t id : {0, 1}) {
    store.OnEvent(TaskStart{SampleTaskEnd(id, 0, TaskState::kSuccess, 1).task});
  }
  for (int64_t id = 7; id < 30; id += 2) end(id, TaskState::kSuccess, 1);
  for (int64_t id = 8; id < 30; id += 2) end(id, TaskState::kSuccess, 1);
  store.Read([](const AppState& s) {
    const StageRow& row = s.stages.at({0, 0});
    CHECK(row.active_tasks == 2);
    CHECK(row.tasks.size() == 10);
    CHECK(row.tasks.front().task_id == 0);  // every finished row before it was trimmed
    CHECK(row.FindTask(6) == nullptr);
    CHECK(row.FindTask(28) != nullptr);
    const std::vector<const TaskRow*> by_id = row.TasksById();
    REQUIRE(by_id.size() == row.tasks.size());
    CHECK(by_id.front()->task_id == 0);
    for (size_t i = 1; i < by_id.size(); ++i) {
      CHECK(by_id[i - 1]->task_id < by_id[i]->task_id);
    }
    return 0;
  });
  // The two running attempts end: the rows their starts made (moved by the trims) are the
  // ones finished, not new rows.
  end(1, TaskState::kFailed, 5);
  end(0, TaskState::kSuccess, 7);
  store.Read([](const AppState& s) {
    const StageRow& row = s.stages.at({0, 0});
    CHECK(row.tasks.size() == 10);
    CHECK(row.active_tasks == 0);
    CHECK(row.succeeded_tasks == 29);
    CHECK(row.failed_tasks == 1);
    CHECK(s.tasks_running == 0);
    const TaskRow* zero = row.FindTask(0);
    const TaskRow* one = row.FindTask(1);
    REQUIRE(zero != nullptr);
    REQUIRE(one != nullptr);
    CHECK(zero->duration_ms() == 7);
    CHECK(one->state == TaskState::kFailed);
    return 0;
  });
}

}  // namespace
}  // namespace kiln::internal
