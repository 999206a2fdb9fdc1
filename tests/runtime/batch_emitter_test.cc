// BatchEmitter::EmitSwap: records reach the consumer in order and whole; the caller gets
// back the storage of records the consumer is done with; batches end at kBatchBytes of
// the callers' record sizes as well as at kBatchSize records.

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

// Keeps what it is pushed: every record's text, each batch's size, and where each
// record's characters were (to see them come back); takes the records when `take`.
class KeepingSink final : public Consumer<std::string> {
 public:
  absl::Status Push(std::vector<std::string>& batch) override {
    sizes.push_back(batch.size());
    for (std::string& s : batch) {
      buffers.push_back(s.data());
      if (take) {
        texts.push_back(std::move(s));
      } else {
        texts.push_back(s);
      }
    }
    return absl::OkStatus();
  }
  absl::Status Finish(TaskContext&) override { return absl::OkStatus(); }
  bool take = false;
  std::vector<size_t> sizes;
  std::vector<std::string> texts;
  std::vector<const char*> buffers;
};

std::string Record(int i, size_t bytes) {
  std::string s(bytes, static_cast<char>('a' + i % 26));
  s.replace(0, std::to_string(i).size(), std::to_string(i));
  return s;
}

TEST_CASE("batch emitter: EmitSwap hands back the buffers of records pushed before",
          "[runtime][emitter]") {
  for (bool take : {false, true}) {
    CAPTURE(take);
    KeepingSink sink;
    sink.take = take;
    Consumer<std::string>* next = &sink;
    BatchEmitter<std::string> out(&next);
    std::string record;
    const int n = static_cast<int>(2 * kBatchSize + 5);
    int reused = 0;
    for (int i = 0; i < n; ++i) {
      const char* before = record.data();
      const std::string bytes = Record(i, 1000);
      record.assign(bytes.data(), bytes.size());  // as a decoder fills the same variable
      if (record.data() == before && i >= static_cast<int>(kBatchSize)) ++reused;
      REQUIRE(out.EmitSwap(record, 0).ok());
    }
    REQUIRE(out.Flush().ok());
    REQUIRE(sink.texts.size() == static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) CHECK(sink.texts[static_cast<size_t>(i)] == Record(i, 1000));
    CHECK(sink.sizes == std::vector<size_t>{kBatchSize, kBatchSize, 5});
    if (take) {
      CHECK(reused == 0);  // the consumer kept the buffers: nothing to recycle
    } else {
      // From the second record of the second batch on (the first is decoded into what
      // the last swap of the first batch gave back: nothing had been pushed yet), every
      // record is decoded into the buffer of one the consumer has seen.
      CHECK(reused == n - static_cast<int>(kBatchSize) - 1);
      CHECK(std::count(sink.buffers.begin(), sink.buffers.end(), sink.buffers.back()) >= 2);
    }
  }
}

TEST_CASE("batch emitter: a batch ends at kBatchBytes of records as well as at kBatchSize",
          "[runtime][emitter]") {
  KeepingSink sink;
  Consumer<std::string>* next = &sink;
  BatchEmitter<std::string> out(&next);
  const size_t big = 100 << 10;  // three make a batch: 300 KiB >= 256 KiB
  std::string record;
  for (int i = 0; i < 7; ++i) {
    record = Record(i, 10);
    REQUIRE(out.EmitSwap(record, big).ok());
  }
  REQUIRE(out.Flush().ok());
  CHECK(sink.sizes == std::vector<size_t>{3, 3, 1});
  // Small records: the count ends the batch.
  sink.sizes.clear();
  for (size_t i = 0; i < kBatchSize + 1; ++i) {
    record = "x";
    REQUIRE(out.EmitSwap(record, 1).ok());
  }
  REQUIRE(out.Flush().ok());
  CHECK(sink.sizes == std::vector<size_t>{kBatchSize, 1});
}

}  // namespace
}  // namespace kiln::runtime
