// ShuffleWriter + ShuffleReader through real files in a scratch dir.
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/shuffle_files.h"
#include "common/strings.h"
#include "runtime/shuffle_reader.h"
#include "runtime/shuffle_writer.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using testing::ScratchDir;
using Record = std::pair<std::string, int64_t>;
// expected[reduce] = the records of that partition, in the order the reader yields them.
using Expected = std::vector<std::vector<Record>>;

constexpr int kShuffle = 4;

// Records are framed as the codec frames a pair<string, uint64>, spelled out with the
// Writer/Reader primitives so these tests depend only on the wire form.
void EncodeRecord(Writer& w, const Record& rec) {
  w.PutLengthPrefixed(rec.first);
  w.PutVarint(static_cast<uint64_t>(rec.second));
}

Record DecodeRecord(Reader& r) {
  std::string_view key = r.GetLengthPrefixed();
  return Record(std::string(key), static_cast<int64_t>(r.GetVarint()));
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (!std::filesystem::exists(dir)) return names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Writes map output `map_id` with records for every partition except the empty ones
// (p % 3 == 1), appends them to `expected`, and returns the partition sizes.
std::vector<int64_t> WriteMap(const ShuffleWriterOptions& base, int map_id, int records,
                              Expected* expected, int* spills = nullptr) {
  ShuffleWriterOptions options = base;
  options.map_id = map_id;
  ShuffleWriter writer(options);
  std::mt19937 rng(static_cast<uint32_t>(map_id) * 7919 + 1);
  for (int i = 0; i < records; ++i) {
    int p = static_cast<int>(rng() % options.num_partitions);
    if (p % 3 == 1) p = (p + 1) % options.num_partitions;
    Record rec{StrCat("key-", map_id, "-", i, std::string(rng() % 40, 'z')),
               static_cast<int64_t>(rng()) - (1 << 30)};
    Writer w(writer.Buffer(p));
    EncodeRecord(w, rec);
    REQUIRE(writer.Appended(p).ok());
    (*expected)[p].push_back(rec);
  }
  auto sizes = writer.Commit();
  REQUIRE(sizes.ok());
  CHECK(writer.records_written() == records);
  int64_t total = 0;
  for (int64_t s : *sizes) total += s;
  CHECK(writer.bytes_written() == total);
  CHECK(std::filesystem::file_size(ShuffleDataPath(options.app_dir, kShuffle, map_id)) ==
        static_cast<uintmax_t>(total));
  if (spills != nullptr) *spills = writer.spill_count();
  return *sizes;
}

WorkerShuffleReaderOptions LocalReader(const std::string& app_dir) {
  WorkerShuffleReaderOptions options;
  options.local_app_dir = app_dir;
  return options;
}

ShuffleReadParams LocalParams(int maps) {
  ShuffleReadParams params{.shuffle_id = kShuffle};
  for (int m = 0; m < maps; ++m) params.maps.push_back({.map_id = m});
  return params;
}

std::vector<Record> ReadPartition(ShuffleReader* reader, const ShuffleReadParams& params,
                                  int reduce) {
  std::vector<Record> got;
  absl::Status s = reader->Read(params, reduce, [&](std::string_view frame) {
    Reader r(frame);
    while (!r.done()) {
      got.push_back(DecodeRecord(r));
    }
    return r.ok() ? absl::OkStatus() : absl::DataLossError("bad record");
  });
  INFO(s.ToString());
  REQUIRE(s.ok());
  return got;
}

// Returns the most spills of one map output.
int CheckRoundTrip(ShuffleWriterOptions options, bool expect_spill) {
  ScratchDir dir;
  options.app_dir = dir.path();
  options.shuffle_id = kShuffle;
  const int maps = 3;
  Expected expected(options.num_partitions);
  int most_spills = 0;
  for (int m = 0; m < maps; ++m) {
    int spills = 0;
    std::vector<int64_t> sizes = WriteMap(options, m, 2000, &expected, &spills);
    CHECK((spills > 0) == expect_spill);
    most_spills = std::max(most_spills, spills);
    auto index = ReadShuffleIndex(ShuffleIndexPath(dir.path(), kShuffle, m));
    REQUIRE(index.ok());
    REQUIRE(index->size() == static_cast<size_t>(options.num_partitions) + 1);
    for (int p = 0; p < options.num_partitions; ++p) {
      CHECK(sizes[p] == static_cast<int64_t>((*index)[p + 1] - (*index)[p]));
      if (p % 3 == 1) CHECK(sizes[p] == 0);
    }
  }
  // Only the final files remain: no spill or temporary file.
  std::vector<std::string> files = ListDir(ShuffleDir(dir.path()));
  CHECK(files.size() == 2 * maps);
  for (const std::string& f : files) CHECK(f.find(".tmp") == std::string::npos);

  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  for (int p = 0; p < options.num_partitions; ++p) {
    INFO("partition " << p);
    CHECK(ReadPartition(&reader, LocalParams(maps), p) == expected[p]);
  }
  CHECK(reader.metrics().local_bytes > 0);
  CHECK(reader.metrics().remote_bytes == 0);
  return most_spills;
}

TEST_CASE("shuffle_io: writer and local reader round trip for every codec") {
  for (Compression codec : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    INFO("codec " << CompressionName(codec));
    ShuffleWriterOptions options;
    options.num_partitions = 7;
    options.compression = codec;
    options.frame_bytes = 512;
    CheckRoundTrip(options, /*expect_spill=*/false);
  }
}

TEST_CASE("shuffle_io: spills under a tiny memory threshold merge back in order") {
  ShuffleWriterOptions options;
  options.num_partitions = 5;
  options.frame_bytes = 300;
  options.spill_bytes = 2000;
  options.io_buffer_bytes = 4096;  // small, so spill copies take several reads
  CheckRoundTrip(options, /*expect_spill=*/true);
}

TEST_CASE("shuffle_io: more runs than are opened at once are folded together, in order") {
  ShuffleWriterOptions options;
  options.num_partitions = 5;
  options.frame_bytes = 100;
  options.spill_bytes = 400;
  CHECK(CheckRoundTrip(options, /*expect_spill=*/true) > 64);
}

TEST_CASE(
    "shuffle_io: a writer spills when the task cannot cover its buffers, and gives "
    "the memory back") {
  ShuffleWriterOptions options;
  options.num_partitions = 5;
  options.frame_bytes = 300;
  int64_t covered = 0;
  int releases = 0;
  options.memory.cover = [&](int64_t bytes) {
    covered = std::max(covered, std::min<int64_t>(bytes + 100, 3000));  // 3000 at most
    return covered;
  };
  options.memory.release = [&] {
    covered = 0;
    ++releases;
  };
  const int spills = CheckRoundTrip(options, /*expect_spill=*/true);
  CHECK(spills > 3);
  CHECK(releases >= spills);
}

TEST_CASE("shuffle_io: one partition, and a map output with no records") {
  ScratchDir dir;
  ShuffleWriterOptions options{.app_dir = dir.path(), .shuffle_id = kShuffle, .num_partitions = 1};
  Expected expected(1);
  WriteMap(options, 0, 10, &expected);
  ShuffleWriterOptions empty = options;
  empty.num_partitions = 3;
  empty.map_id = 1;
  ShuffleWriter writer(empty);
  auto sizes = writer.Commit();
  REQUIRE(sizes.ok());
  CHECK(*sizes == std::vector<int64_t>{0, 0, 0});
  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  CHECK(ReadPartition(&reader, LocalParams(1), 0) == expected[0]);
  ShuffleReadParams only_empty{.shuffle_id = kShuffle, .maps = {{.map_id = 1}}};
  CHECK(ReadPartition(&reader, only_empty, 2).empty());
}

// Another attempt of map 0: one record in `partition`, committed over what is there.
void CommitOneRecord(const ShuffleWriterOptions& options, int partition, const Record& record) {
  std::string bytes;
  Writer w(&bytes);
  EncodeRecord(w, record);
  ShuffleWriter writer(options);
  REQUIRE(writer.Add(partition, bytes).ok());
  REQUIRE(writer.Commit().ok());
}

TEST_CASE("shuffle_io: a new attempt replaces an earlier output") {
  ScratchDir dir;
  ShuffleWriterOptions options{.app_dir = dir.path(), .shuffle_id = kShuffle, .num_partitions = 2};
  Expected first(2), second(2);
  WriteMap(options, 0, 50, &first);
  CommitOneRecord(options, 0, {"abc", 1});
  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  CHECK(ReadPartition(&reader, LocalParams(1), 0) == std::vector<Record>{{"abc", 1}});
  CHECK(ReadPartition(&reader, LocalParams(1), 1).empty());
}

TEST_CASE("shuffle_io: a map output's index read before is read again once it is replaced") {
  ScratchDir dir;
  ShuffleWriterOptions options{.app_dir = dir.path(), .shuffle_id = kShuffle, .num_partitions = 2};
  Expected first(2);
  WriteMap(options, 0, 50, &first);
  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  // Read twice: the second open finds the index parsed the first time.
  for (int round = 0; round < 2; ++round) {
    CHECK(ReadPartition(&reader, LocalParams(1), 0) == first[0]);
    CHECK(ReadPartition(&reader, LocalParams(1), 1) == first[1]);
  }
  // A new attempt renames a new index over it (other offsets): the reader sees it.
  CommitOneRecord(options, 1, {"xyz", 2});
  CHECK(ReadPartition(&reader, LocalParams(1), 0).empty());
  CHECK(ReadPartition(&reader, LocalParams(1), 1) == std::vector<Record>{{"xyz", 2}});
  // An index replaced by a corrupt one is corrupt, and a removed one is missing.
  const std::string index = ShuffleIndexPath(dir.path(), kShuffle, 0);
  testing::WriteBytes(index + ".tmp", std::string(12, '\x01'));
  std::filesystem::rename(index + ".tmp", index);
  auto ignore = [](std::string_view) { return absl::OkStatus(); };
  absl::Status corrupt = reader.Read(LocalParams(1), 0, ignore);
  CHECK(corrupt.code() == absl::StatusCode::kDataLoss);
  std::filesystem::remove(index);
  absl::Status missing = reader.Read(LocalParams(1), 0, ignore);
  REQUIRE(GetFetchFailure(missing).has_value());
  CHECK(View(missing.message()).find("not found") != std::string::npos);
}

TEST_CASE("shuffle_io: an uncommitted writer leaves no file behind") {
  ScratchDir dir;
  {
    ShuffleWriter writer({.app_dir = dir.path(),
                          .shuffle_id = kShuffle,
                          .num_partitions = 3,
                          .frame_bytes = 64,
                          .spill_bytes = 256});
    for (int i = 0; i < 500; ++i) REQUIRE(writer.Add(i % 3, "some record bytes").ok());
    CHECK(writer.spill_count() > 0);
    CHECK(!ListDir(ShuffleDir(dir.path())).empty());
  }
  CHECK(ListDir(ShuffleDir(dir.path())).empty());
}

TEST_CASE("shuffle_io: a missing or corrupt local output is a fetch failure naming the map") {
  ScratchDir dir;
  ShuffleWriterOptions options{.app_dir = dir.path(),
                               .shuffle_id = kShuffle,
                               .num_partitions = 2,
                               .compression = Compression::kNone};
  Expected expected(2);
  WriteMap(options, 0, 100, &expected);
  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  auto ignore = [](std::string_view) { return absl::OkStatus(); };

  absl::Status missing = reader.Read(LocalParams(2), 0, ignore);  // map 1 was never written
  REQUIRE_FALSE(missing.ok());
  auto failure = GetFetchFailure(missing);
  REQUIRE(failure.has_value());
  CHECK(failure->shuffle_id == kShuffle);
  CHECK(failure->map_id == 1);
  CHECK(failure->address.empty());
  CHECK(View(missing.message()).find("map 1") != std::string::npos);

  std::string data_path = ShuffleDataPath(dir.path(), kShuffle, 0);
  std::string data = *ReadFile(data_path);
  data[data.size() / 2] ^= 0x5a;
  testing::WriteBytes(data_path, data);
  absl::Status corrupt = absl::OkStatus();
  for (int p = 0; p < 2 && corrupt.ok(); ++p) corrupt = reader.Read(LocalParams(1), p, ignore);
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.code() == absl::StatusCode::kDataLoss);
  REQUIRE(GetFetchFailure(corrupt).has_value());
  CHECK(GetFetchFailure(corrupt)->map_id == 0);
}

TEST_CASE("shuffle_io: an error of the frame callback is passed through as is") {
  ScratchDir dir;
  ShuffleWriterOptions options{.app_dir = dir.path(), .shuffle_id = kShuffle, .num_partitions = 1};
  Expected expected(1);
  WriteMap(options, 0, 100, &expected);
  WorkerShuffleReader reader(LocalReader(dir.path()), nullptr);
  absl::Status s = reader.Read(LocalParams(1), 0, [](std::string_view) {
    return absl::InvalidArgumentError("user code failed");
  });
  CHECK(s == absl::InvalidArgumentError("user code failed"));
  CHECK_FALSE(GetFetchFailure(s).has_value());
}

TEST_CASE("shuffle_io: an unreachable remote worker is a fetch failure naming map and address") {
  ScratchDir dir;
  WorkerClientCache clients;
  CHECK(clients.Get("127.0.0.1:1") == clients.Get("127.0.0.1:1"));
  WorkerShuffleReaderOptions options = LocalReader(dir.path());
  options.app_id = "app-1";
  options.local_worker_id = "worker-local";
  options.fetch_timeout = std::chrono::seconds(20);
  WorkerShuffleReader reader(options, &clients);
  ShuffleReadParams params{
      .shuffle_id = kShuffle,
      .maps = {{.map_id = 6, .worker_id = "worker-far", .address = "127.0.0.1:1"}}};
  absl::Status s = reader.Read(params, 0, [](std::string_view) { return absl::OkStatus(); });
  REQUIRE_FALSE(s.ok());
  auto failure = GetFetchFailure(s);
  REQUIRE(failure.has_value());
  CHECK(failure->shuffle_id == kShuffle);
  CHECK(failure->map_id == 6);
  CHECK(failure->address == "127.0.0.1:1");
  CHECK(View(s.message()).find("map 6") != std::string::npos);
  CHECK(View(s.message()).find("127.0.0.1:1") != std::string::npos);
}

TEST_CASE("shuffle_io: FetchFailure survives a status round trip") {
  FetchFailure f{3, 9, "host-a:7078"};
  absl::Status s = FetchFailedError(f, absl::UnavailableError("connection refused"));
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  auto back = GetFetchFailure(s);
  REQUIRE(back.has_value());
  CHECK(back->shuffle_id == 3);
  CHECK(back->map_id == 9);
  CHECK(back->address == "host-a:7078");
  CHECK_FALSE(GetFetchFailure(absl::UnavailableError("x")).has_value());
}

}  // namespace
}  // namespace kiln::runtime
