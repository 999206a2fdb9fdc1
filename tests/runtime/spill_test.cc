// Spill files and their merge: round trips for every codec, corrupt files, stable k-way
// merges wider than the files one merge opens, and cleanup.
#include "runtime/spill.h"

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "runtime/partition_input.h"
#include "runtime/running_tasks.h"
#include "runtime/spill_merge.h"
#include "runtime/task_memory.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using SpillRecord = std::pair<int64_t, int64_t>;  // (key, where it came from)

int FilesIn(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

// A run of `records` (already in order) written through WriteSpill.
std::string Run(TaskContext& ctx, const std::vector<SpillRecord>& records) {
  absl::StatusOr<std::string> path = WriteSpill(ctx, 100, [&](SpillWriter& out) {
    for (const SpillRecord& r : records) {
      Writer w(out.buffer());
      Encode(w, r);
      absl::Status s = out.Appended();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  });
  REQUIRE(path.ok());
  return *path;
}

// Overwrites one byte inside the file's first frame.
void Damage(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  f.put('\x5a');
}

std::vector<SpillRecord> ReadRun(const std::string& path) {
  RunCursor<SpillRecord> cursor(path);
  REQUIRE(cursor.Open().ok());
  std::vector<SpillRecord> out;
  while (!cursor.done()) {
    out.push_back(cursor.record());
    REQUIRE(cursor.Advance().ok());
  }
  return out;
}

TEST_CASE("spill: a run reads back as written, for every codec", "[spill]") {
  ScratchDir dir;
  for (Compression codec : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    INFO(CompressionName(codec));
    SpillSpace space(dir.path(), 7, codec);
    TaskContext ctx;
    ctx.spills = &space;
    std::vector<SpillRecord> records;
    for (int64_t i = 0; i < 50'000; ++i) records.emplace_back(i * 3, -i);  // several frames
    const std::string path = Run(ctx, records);
    CHECK(path.find(dir.path() + "/spill-7-") == 0);
    CHECK(ReadRun(path) == records);
    CHECK(ctx.metrics.spill_count == 1);
    CHECK(ctx.metrics.memory_bytes_spilled == 100);
    CHECK(ctx.metrics.disk_bytes_spilled == static_cast<int64_t>(std::filesystem::file_size(path)));
  }
  CHECK(FilesIn(dir.path()) == 0);  // each SpillSpace removed its files
}

TEST_CASE("spill: a damaged run is data loss naming the file", "[spill]") {
  ScratchDir dir;
  SpillSpace space(dir.path(), 1, Compression::kLz4);
  TaskContext ctx;
  ctx.spills = &space;
  std::vector<SpillRecord> records;
  for (int64_t i = 0; i < 10'000; ++i) records.emplace_back(i, i);
  const std::string path = Run(ctx, records);
  Damage(path);
  RunCursor<SpillRecord> cursor(path);
  absl::Status s = cursor.Open();
  while (s.ok() && !cursor.done()) s = cursor.Advance();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(s.message()).find(path) != std::string::npos);
}

TEST_CASE("spill: a PartitionInput yields its runs, then memory, and stops at a damaged run",
          "[spill]") {
  ScratchDir dir;
  SpillSpace space(dir.path(), 1, Compression::kLz4);
  TaskContext ctx;
  ctx.spills = &space;
  std::vector<SpillRecord> first, second;
  for (int64_t i = 0; i < 5'000; ++i) first.emplace_back(i, 0);
  for (int64_t i = 5'000; i < 12'000; ++i) second.emplace_back(i, 1);
  const std::vector<std::string> runs = {Run(ctx, first), Run(ctx, {}), Run(ctx, second)};
  {
    PartitionInput<SpillRecord> in(runs, {{12'000, 2}, {12'001, 2}});
    int64_t expected = 0;
    for (SpillRecord& r : in) CHECK(r.first == expected++);
    CHECK(expected == 12'002);
    CHECK(in.status().ok());
  }
  {
    PartitionInput<SpillRecord> nothing({}, {});
    CHECK(nothing.begin() == nothing.end());
  }
  Damage(runs[2]);
  PartitionInput<SpillRecord> in(runs, {{12'000, 2}});
  int64_t seen = 0;
  for (SpillRecord& r : in) seen += r.first >= 0 ? 1 : 0;
  CHECK(seen >= 5'000);
  CHECK(seen < 12'001);  // the memory part is not reached past the damage
  CHECK(in.status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("spill: a running task's spill figures are published once per change", "[spill]") {
  ScratchDir dir;
  SpillSpace space(dir.path(), 7, Compression::kLz4);
  RunningTasks running;
  TaskMemory memory(nullptr, 7);
  TaskContext ctx;
  ctx.task_id = 7;
  ctx.spills = &space;
  ctx.memory = &memory;
  ctx.running = &running;
  running.Begin(7, 2, 5);
  CHECK(running.TakeChanged().empty());
  memory.Acquire(5 << 20, nullptr);
  Run(ctx, {{1, 1}, {2, 2}});
  std::vector<TaskProgress> changed = running.TakeChanged();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].task_id == 7);
  CHECK(changed[0].stage_id == 2);
  CHECK(changed[0].partition == 5);
  CHECK(running.Spilled().size() == 1);
  CHECK(changed[0].metrics.spill_count == 1);
  CHECK(changed[0].metrics.memory_bytes_spilled == 100);
  CHECK(changed[0].metrics.disk_bytes_spilled > 0);
  CHECK(changed[0].metrics.peak_execution_memory == 5 << 20);
  CHECK(running.TakeChanged().empty());  // nothing new
  Run(ctx, {{3, 3}});
  CHECK(running.TakeChanged().at(0).metrics.spill_count == 2);
  running.End(7);
  Run(ctx, {{4, 4}});  // after the task ended (its last status carries the figures)
  CHECK(running.TakeChanged().empty());
}

TEST_CASE("spill: a task that cannot create its spill file fails naming the directory", "[spill]") {
  SpillSpace space("/nonexistent-kiln-dir", 1, Compression::kLz4);
  TaskContext ctx;
  ctx.spills = &space;
  absl::StatusOr<std::string> path =
      WriteSpill(ctx, 1, [](SpillWriter&) { return absl::OkStatus(); });
  REQUIRE_FALSE(path.ok());
  CHECK(std::string(path.status().message()).find("cannot spill to /nonexistent-kiln-dir") !=
        std::string::npos);
  CHECK(ctx.metrics.spill_count == 0);
}

TEST_CASE("spill: a full disk fails the spill naming the directory and leaves no file", "[spill]") {
  ScratchDir dir;
  if (mount("kiln-spill-test", dir.path().c_str(), "tmpfs", 0, "size=256k") != 0) {
    WARN("cannot mount a small tmpfs here (" << std::strerror(errno) << "): nothing to check");
    return;
  }
  struct Unmount {
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
    std::string path;
  } unmount{dir.path()};
  SpillSpace space(dir.path(), 1, Compression::kNone);
  TaskContext ctx;
  ctx.task_id = 1;
  ctx.spills = &space;
  const std::string value(1 << 10, 'v');
  absl::StatusOr<std::string> path = WriteSpill(ctx, 1 << 20, [&](SpillWriter& out) {
    for (int i = 0; i < 1024; ++i) {  // 1 MiB into 256 KiB
      Writer w(out.buffer());
      Encode(w, value);
      if (absl::Status s = out.Appended(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  REQUIRE_FALSE(path.ok());
  INFO(path.status());
  CHECK(path.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(path.status().message()).find("task 1 cannot spill to " + dir.path()) !=
        std::string::npos);
  CHECK(std::string(path.status().message()).find("No space left on device") != std::string::npos);
  CHECK(FilesIn(dir.path()) == 0);
  CHECK(ctx.metrics.spill_count == 0);
}

TEST_CASE("spill: merging more runs than open at once is stable and leaves one file per run",
          "[spill]") {
  ScratchDir dir;
  SpillSpace space(dir.path(), 2, Compression::kLz4);
  TaskContext ctx;
  ctx.spills = &space;
  // 150 runs of keys 0..99; the value says which run: equal keys must come out in run
  // order.
  const int kRuns = 150;
  std::vector<std::string> runs;
  for (int r = 0; r < kRuns; ++r) {
    std::vector<SpillRecord> records;
    for (int64_t k = r % 3; k < 100; k += 1 + r % 2) records.emplace_back(k, r);
    runs.push_back(Run(ctx, records));
  }
  auto less = [](RecordCursor<SpillRecord>& a, RecordCursor<SpillRecord>& b) {
    return a.record().first < b.record().first;
  };
  auto merge_into = [&](const std::vector<std::string>& some, SpillWriter& out) {
    std::vector<std::unique_ptr<RecordCursor<SpillRecord>>> cursors;
    absl::Status s = OpenRuns<SpillRecord, false>(some, &cursors);
    if (!s.ok()) return s;
    return MergeCursors(cursors, less, [&](RecordCursor<SpillRecord>& c) {
      Writer w(out.buffer());
      Encode(w, c.record());
      return out.Appended();
    });
  };
  REQUIRE(NarrowRuns(ctx, runs, merge_into).ok());
  CHECK(runs.size() <= kMaxMergeWidth);
  CHECK(FilesIn(dir.path()) == static_cast<int>(runs.size()));
  std::vector<std::unique_ptr<RecordCursor<SpillRecord>>> cursors;
  REQUIRE(OpenRuns<SpillRecord, false>(runs, &cursors).ok());
  std::vector<SpillRecord> merged;
  REQUIRE(MergeCursors(cursors, less, [&](RecordCursor<SpillRecord>& c) {
            merged.push_back(c.record());
            return absl::OkStatus();
          }).ok());
  std::vector<SpillRecord> expected;
  for (int64_t k = 0; k < 100; ++k) {
    for (int r = 0; r < kRuns; ++r) {
      if (k >= r % 3 && (k - r % 3) % (1 + r % 2) == 0) expected.emplace_back(k, r);
    }
  }
  CHECK(merged == expected);
}

}  // namespace
}  // namespace kiln::runtime
