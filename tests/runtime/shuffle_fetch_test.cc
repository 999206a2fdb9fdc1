// ShuffleReader against in-process fake shuffle services on 127.0.0.1 (port 0): remote
// blocks arrive in small chunks, interleaved across map outputs, as the real service
// may send them.
#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/rpc.h"
#include "common/shuffle_files.h"
#include "common/strings.h"
#include "proto/worker.grpc.pb.h"
#include "runtime/shuffle_reader.h"
#include "runtime/shuffle_writer.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using testing::ScratchDir;

constexpr int kShuffle = 2;
constexpr int kPartitions = 3;

// Serves the blocks of its app dir in `chunk_bytes` pieces, block after block in the
// order asked (as a worker does); with `interleave`, round-robin over the maps instead,
// which breaks the protocol.
class FakeShuffleService final : public proto::Worker::Service {
 public:
  FakeShuffleService(std::string app_dir, size_t chunk_bytes)
      : app_dir_(std::move(app_dir)), chunk_bytes_(chunk_bytes) {}

  grpc::Status FetchShuffleBlocks(grpc::ServerContext*, const proto::FetchShuffleBlocksRequest* req,
                                  grpc::ServerWriter<proto::ShuffleChunk>* writer) override {
    ++calls;
    std::vector<std::string> blocks;
    for (int map_id : req->map_ids()) {
      auto index = ReadShuffleIndex(ShuffleIndexPath(app_dir_, req->shuffle_id(), map_id));
      if (!index.ok()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such map output");
      auto data = ReadFile(ShuffleDataPath(app_dir_, req->shuffle_id(), map_id));
      if (!data.ok()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no data file");
      uint64_t begin = (*index)[req->reduce_id()];
      blocks.push_back(data->substr(begin, (*index)[req->reduce_id() + 1] - begin));
    }
    std::vector<size_t> sent(blocks.size(), 0);
    std::vector<bool> done(blocks.size(), false);
    // One chunk of block i; true when it was the block's last.
    auto send = [&](size_t i) {
      proto::ShuffleChunk chunk;
      chunk.set_map_id(req->map_ids(static_cast<int>(i)));
      size_t n = std::min(chunk_bytes_, blocks[i].size() - sent[i]);
      chunk.set_data(blocks[i].substr(sent[i], n));
      sent[i] += n;
      done[i] = sent[i] == blocks[i].size();
      chunk.set_last(done[i]);
      writer->Write(chunk);
      return done[i];
    };
    if (pack || pack_into_partial) {
      // Block 0 in pieces, then every later block whole in the chunk of its last piece
      // (with pack_into_partial, of its first piece: against the protocol).
      proto::ShuffleChunk chunk;
      chunk.set_map_id(req->map_ids(0));
      for (size_t from = 0; from < blocks[0].size() || from == 0;) {
        const size_t n = std::min(chunk_bytes_, blocks[0].size() - from);
        chunk.set_data(blocks[0].substr(from, n));
        from += n;
        chunk.set_last(from == blocks[0].size());
        if (chunk.last() || pack_into_partial) {
          for (size_t i = 1; i < blocks.size(); ++i) {
            proto::ShuffleBlock* b = chunk.add_blocks();
            b->set_map_id(req->map_ids(static_cast<int>(i)));
            b->set_data(blocks[i]);
          }
          writer->Write(chunk);
          break;
        }
        writer->Write(chunk);
      }
    } else if (interleave) {
      for (size_t left = blocks.size(); left > 0;) {
        for (size_t i = 0; i < blocks.size(); ++i) {
          if (!done[i] && send(i)) --left;
        }
      }
    } else {
      const bool fail = failures_left > 0;
      if (fail) --failures_left;
      for (size_t i = 0; i < blocks.size(); ++i) {
        if (fail && static_cast<int>(i) == fail_after_blocks) {
          while (fail_mid_block && blocks[i].size() - sent[i] > chunk_bytes_) send(i);
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "injected: connection reset");
        }
        while (!send(i)) {
        }
      }
    }
    return grpc::Status::OK;
  }

  std::atomic<bool> interleave{false};
  std::atomic<bool> pack{false};
  std::atomic<bool> pack_into_partial{false};
  // The next `failures_left` calls send `fail_after_blocks` whole blocks (and with
  // `fail_mid_block`, all but the last chunk of the next), then fail UNAVAILABLE.
  std::atomic<int> failures_left{0};
  std::atomic<int> fail_after_blocks{0};
  std::atomic<bool> fail_mid_block{false};
  std::atomic<int> calls{0};

 private:
  std::string app_dir_;
  size_t chunk_bytes_;
};

struct FakeWorker {
  explicit FakeWorker(size_t chunk_bytes) : service(dir.path(), chunk_bytes) {
    auto running = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&service});
    REQUIRE(running.ok());
    server = std::move(running->server);
    address = StrCat("127.0.0.1:", running->port);
  }
  ~FakeWorker() { server->Shutdown(); }

  ScratchDir dir;
  FakeShuffleService service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

// Writes map `map_id` under `app_dir`; records are "m<map>-<i>" strings.
void WriteMap(const std::string& app_dir, int map_id, int records,
              std::vector<std::vector<std::string>>* expected) {
  ShuffleWriter writer({.app_dir = app_dir,
                        .shuffle_id = kShuffle,
                        .map_id = map_id,
                        .num_partitions = kPartitions,
                        .frame_bytes = 200});
  for (int i = 0; i < records; ++i) {
    int p = (i * 7 + map_id) % kPartitions;
    if (map_id == 1 && p == 2) continue;  // an empty block among full ones
    std::string rec = StrCat("m", map_id, "-", i);
    Writer w(writer.Buffer(p));
    w.PutLengthPrefixed(rec);
    REQUIRE(writer.Appended(p).ok());
    (*expected)[p].push_back(rec);
  }
  REQUIRE(writer.Commit().ok());
}

void AddMap(ShuffleReadParams* params, int map_id, const std::string& worker_id,
            const std::string& address) {
  params->maps.push_back({.map_id = map_id, .worker_id = worker_id, .address = address});
}

absl::Status ReadAll(ShuffleReader* reader, const ShuffleReadParams& params, int reduce,
                     std::vector<std::string>* out) {
  out->clear();
  return reader->Read(params, reduce, [&](std::string_view frame) {
    Reader r(frame);
    while (!r.done()) out->emplace_back(r.GetLengthPrefixed());
    return r.ok() ? absl::OkStatus() : absl::DataLossError("bad record");
  });
}

absl::Status ReadSorted(ShuffleReader* reader, const ShuffleReadParams& params, int reduce,
                        std::vector<std::string>* out) {
  absl::Status s = ReadAll(reader, params, reduce, out);
  std::sort(out->begin(), out->end());
  return s;
}

TEST_CASE("shuffle_fetch: local and remote blocks in map-id order, one request per worker") {
  ScratchDir local_dir;
  FakeWorker a(/*chunk_bytes=*/37), b(/*chunk_bytes=*/4096);
  std::vector<std::vector<std::string>> expected(kPartitions);  // in map-id order
  WriteMap(a.dir.path(), 0, 400, &expected);
  WriteMap(local_dir.path(), 1, 200, &expected);
  WriteMap(b.dir.path(), 2, 500, &expected);
  WriteMap(a.dir.path(), 3, 300, &expected);
  WriteMap(b.dir.path(), 4, 100, &expected);

  ShuffleReadParams params{.shuffle_id = kShuffle};
  AddMap(&params, 3, "worker-a", a.address);
  AddMap(&params, 2, "worker-b", b.address);
  AddMap(&params, 1, "worker-local", "127.0.0.1:1");  // local: never dialled
  AddMap(&params, 4, "worker-b", b.address);
  AddMap(&params, 0, "worker-a", a.address);

  WorkerClientCache clients;
  WorkerShuffleReaderOptions options;
  options.app_id = "app-1";
  options.local_worker_id = "worker-local";
  options.local_app_dir = local_dir.path();
  WorkerShuffleReader reader(options, &clients);
  for (int p = 0; p < kPartitions; ++p) {
    INFO("partition " << p);
    std::vector<std::string> got;
    REQUIRE(ReadAll(&reader, params, p, &got).ok());
    CHECK(got == expected[p]);  // exactly: map 0's records, then map 1's, ...
  }
  CHECK(a.service.calls == kPartitions);  // maps 0 and 3 in one request per partition
  CHECK(b.service.calls == kPartitions);
  CHECK(reader.metrics().remote_bytes > 0);
  CHECK(reader.metrics().local_bytes > 0);
}

// Maps 0, 1 and 2 on worker `w`, read as partition 0 with kiln.shuffle.io.maxRetries
// `retries` (no wait).
absl::Status ReadWithRetries(FakeWorker& w, int retries, std::vector<std::string>* got,
                             std::vector<std::string>* expected) {
  std::vector<std::vector<std::string>> all(kPartitions);
  for (int m = 0; m < 3; ++m) WriteMap(w.dir.path(), m, 300, &all);
  *expected = all[0];
  ShuffleReadParams params{.shuffle_id = kShuffle};
  for (int m = 0; m < 3; ++m) AddMap(&params, m, "worker-w", w.address);
  WorkerClientCache clients;
  WorkerShuffleReaderOptions options;
  options.app_id = "app-1";
  options.max_retries = retries;
  options.retry_wait = std::chrono::milliseconds(0);
  WorkerShuffleReader reader(options, &clients);
  return ReadAll(&reader, params, 0, got);
}

TEST_CASE("shuffle_fetch: a stream broken between blocks is opened again from the next block") {
  FakeWorker w(/*chunk_bytes=*/64);
  w.service.failures_left = 2;
  w.service.fail_after_blocks = 1;  // map 0 arrives, then the stream breaks, twice
  std::vector<std::string> got, expected;
  absl::Status s = ReadWithRetries(w, 3, &got, &expected);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(got == expected);  // every record once, in map order
  CHECK(w.service.calls == 3);
}

TEST_CASE("shuffle_fetch: retries are bounded by kiln.shuffle.io.maxRetries") {
  FakeWorker w(/*chunk_bytes=*/64);
  w.service.failures_left = 100;
  w.service.fail_after_blocks = 0;
  std::vector<std::string> got, expected;
  absl::Status s = ReadWithRetries(w, 2, &got, &expected);
  CHECK(absl::IsUnavailable(s));
  REQUIRE(GetFetchFailure(s).has_value());
  CHECK(GetFetchFailure(s)->map_id == 0);
  CHECK(w.service.calls == 3);  // the first attempt and two retries
}

TEST_CASE("shuffle_fetch: a stream broken inside a block is a fetch failure, not a retry") {
  FakeWorker w(/*chunk_bytes=*/16);
  w.service.failures_left = 1;
  w.service.fail_after_blocks = 1;
  w.service.fail_mid_block = true;  // whole frames of map 1's block reached the caller
  std::vector<std::string> got, expected;
  absl::Status s = ReadWithRetries(w, 3, &got, &expected);
  REQUIRE(GetFetchFailure(s).has_value());
  CHECK(GetFetchFailure(s)->map_id == 1);
  CHECK(w.service.calls == 1);
}

TEST_CASE("shuffle_fetch: blocks packed into one chunk are read in map order") {
  FakeWorker a(/*chunk_bytes=*/50);
  a.service.pack = true;
  std::vector<std::vector<std::string>> expected(kPartitions);
  for (int m = 0; m < 4; ++m) WriteMap(a.dir.path(), m, 200, &expected);
  ShuffleReadParams params{.shuffle_id = kShuffle};
  for (int m = 0; m < 4; ++m) AddMap(&params, m, "worker-a", a.address);
  WorkerClientCache clients;
  WorkerShuffleReader reader(WorkerShuffleReaderOptions{}, &clients);
  for (int p = 0; p < kPartitions; ++p) {
    INFO("partition " << p);
    std::vector<std::string> got;
    absl::Status s = ReadAll(&reader, params, p, &got);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(got == expected[p]);
  }
  CHECK(reader.metrics().remote_blocks == 4 * kPartitions - 1);  // map 1's block 2 is empty
}

// Partition 0 of maps 0 and 1 on worker `a`, which breaks the protocol somehow.
absl::Status ReadTwoMaps(FakeWorker& a) {
  std::vector<std::vector<std::string>> expected(kPartitions);
  WriteMap(a.dir.path(), 0, 300, &expected);
  WriteMap(a.dir.path(), 1, 300, &expected);
  ShuffleReadParams params{.shuffle_id = kShuffle};
  AddMap(&params, 0, "worker-a", a.address);
  AddMap(&params, 1, "worker-a", a.address);
  WorkerClientCache clients;
  WorkerShuffleReader reader(WorkerShuffleReaderOptions{}, &clients);
  std::vector<std::string> got;
  return ReadAll(&reader, params, 0, &got);
}

TEST_CASE("shuffle_fetch: blocks packed after a piece that does not end its block fail") {
  FakeWorker a(/*chunk_bytes=*/20);
  a.service.pack_into_partial = true;
  absl::Status s = ReadTwoMaps(a);
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(s.message()).find("does not end its block") != std::string::npos);
  REQUIRE(GetFetchFailure(s).has_value());
  CHECK(GetFetchFailure(s)->map_id == 0);
}

TEST_CASE("shuffle_fetch: a worker that interleaves blocks fails the fetch") {
  FakeWorker a(/*chunk_bytes=*/50);
  a.service.interleave = true;
  absl::Status s = ReadTwoMaps(a);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  REQUIRE(GetFetchFailure(s).has_value());
  CHECK(GetFetchFailure(s)->map_id == 0);
}

TEST_CASE("shuffle_fetch: a map output missing on a worker is a fetch failure naming it") {
  FakeWorker a(/*chunk_bytes=*/1000);
  std::vector<std::vector<std::string>> expected(kPartitions);
  WriteMap(a.dir.path(), 0, 100, &expected);
  ShuffleReadParams params{.shuffle_id = kShuffle};
  AddMap(&params, 0, "worker-a", a.address);
  AddMap(&params, 5, "worker-a", a.address);  // never written

  WorkerClientCache clients;
  WorkerShuffleReaderOptions options;
  options.local_worker_id = "worker-local";
  WorkerShuffleReader reader(options, &clients);
  std::vector<std::string> got;
  absl::Status s = ReadSorted(&reader, params, 0, &got);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == absl::StatusCode::kNotFound);
  auto failure = GetFetchFailure(s);
  REQUIRE(failure.has_value());
  CHECK(failure->map_id == 0);  // the service fails the whole request: first unfinished map
  CHECK(failure->address == a.address);

  // Corrupt data on the worker: DataLoss naming the corrupt block's map.
  std::string path = ShuffleDataPath(a.dir.path(), kShuffle, 0);
  std::string data = *ReadFile(path);
  data[data.size() - 3] ^= 0x11;
  testing::WriteBytes(path, data);
  ShuffleReadParams one{.shuffle_id = kShuffle};
  AddMap(&one, 0, "worker-a", a.address);
  absl::Status corrupt = absl::OkStatus();
  for (int p = 0; p < kPartitions && corrupt.ok(); ++p) corrupt = ReadSorted(&reader, one, p, &got);
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.code() == absl::StatusCode::kDataLoss);
  REQUIRE(GetFetchFailure(corrupt).has_value());
  CHECK(GetFetchFailure(corrupt)->map_id == 0);
}

}  // namespace
}  // namespace kiln::runtime
