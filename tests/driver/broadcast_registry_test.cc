// The driver's broadcast registry: chunking with checksums, encoding once, who holds
// which chunk, unpersist and destroy, and the errors that name the broadcast.

#include "driver/broadcast_registry.h"

#include <xxhash.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::internal {
namespace {

// A registry with 10-byte chunks holding `text` as broadcast 0; counts encodings.
struct Fixture {
  explicit Fixture(std::string text) : registry(10, [this](int64_t id) { dropped.push_back(id); }) {
    auto value = std::make_shared<const std::string>(std::move(text));
    id = registry.Add(
        value,
        [this, value] {
          ++encodings;
          return *value;
        },
        "std::string");
  }
  std::atomic<int> encodings{0};
  std::vector<int64_t> dropped;
  BroadcastRegistry registry;
  int64_t id = 0;
};

std::vector<std::string> Holders(const proto::BroadcastLocations& where, int chunk) {
  const auto& a = where.holders(chunk).addresses();
  return {a.begin(), a.end()};
}

TEST_CASE("broadcast registry: chunks, checksums and a single encoding", "[broadcast]") {
  Fixture f("abcdefghijklmnopqrstuvwxy");  // 25 bytes: chunks of 10, 10, 5
  CHECK(f.encodings == 0);                 // nothing is encoded before an executor asks
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { REQUIRE_OK(f.registry.Locate(f.id, "1", "w1:1", {})); });
  }
  for (std::thread& t : threads) t.join();
  CHECK(f.encodings == 1);
  absl::StatusOr<proto::BroadcastLocations> where = f.registry.Locate(f.id, "1", "w1:1", {});
  REQUIRE_OK(where);
  CHECK(where->total_bytes() == 25);
  CHECK(where->chunk_bytes() == 10);
  REQUIRE(where->checksums_size() == 3);
  REQUIRE(where->holders_size() == 3);
  std::string joined;
  for (int c = 0; c < 3; ++c) {
    std::string chunk;
    REQUIRE_OK(f.registry.Chunk(f.id, c, &chunk));
    CHECK(where->checksums(c) == XXH64(chunk.data(), chunk.size(), 0));
    CHECK(Holders(*where, c).empty());  // only the driver has it
    joined += chunk;
  }
  CHECK(joined == "abcdefghijklmnopqrstuvwxy");
  CHECK(f.registry.bytes_served() == 25);
  std::string out;
  CHECK(f.registry.Chunk(f.id, 3, &out).code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.registry.Chunk(f.id, -1, &out).code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.registry.Chunk(7, 0, &out).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("broadcast registry: an empty value is one empty chunk", "[broadcast]") {
  Fixture f("");
  absl::StatusOr<proto::BroadcastLocations> where = f.registry.Locate(f.id, "1", "w1:1", {});
  REQUIRE_OK(where);
  CHECK(where->total_bytes() == 0);
  REQUIRE(where->checksums_size() == 1);
  std::string chunk = "stale";
  REQUIRE_OK(f.registry.Chunk(f.id, 0, &chunk));
  CHECK(chunk.empty());
}

TEST_CASE("broadcast registry: executors are offered the chunks others hold", "[broadcast]") {
  Fixture f(std::string(30, 'x'));  // 3 chunks
  REQUIRE_OK(f.registry.Locate(f.id, "1", "w1:1", {0, 2}));
  REQUIRE_OK(f.registry.Locate(f.id, "2", "w2:1", {2}));
  REQUIRE_OK(f.registry.Locate(f.id, "3", "w1:1", {1}));  // another executor on worker 1
  absl::StatusOr<proto::BroadcastLocations> for_4 = f.registry.Locate(f.id, "4", "w3:1", {});
  REQUIRE_OK(for_4);
  CHECK(Holders(*for_4, 0) == std::vector<std::string>{"w1:1"});
  CHECK(Holders(*for_4, 1) == std::vector<std::string>{"w1:1"});
  CHECK(Holders(*for_4, 2) == std::vector<std::string>{"w1:1", "w2:1"});
  // An executor is never sent to its own worker.
  absl::StatusOr<proto::BroadcastLocations> for_1 = f.registry.Locate(f.id, "1", "w1:1", {});
  REQUIRE_OK(for_1);
  CHECK(Holders(*for_1, 0).empty());
  CHECK(Holders(*for_1, 2) == std::vector<std::string>{"w2:1"});
  // Out-of-range chunk numbers are ignored.
  REQUIRE_OK(f.registry.Locate(f.id, "5", "w5:1", {-1, 3, 99}));
  f.registry.ExecutorRemoved("2");
  for_4 = f.registry.Locate(f.id, "4", "w3:1", {});
  REQUIRE_OK(for_4);
  CHECK(Holders(*for_4, 2) == std::vector<std::string>{"w1:1"});
  f.registry.Unpersist(f.id);
  CHECK(f.dropped == std::vector<int64_t>{f.id});
  for_4 = f.registry.Locate(f.id, "4", "w3:1", {});
  REQUIRE_OK(for_4);
  for (int c = 0; c < 3; ++c) CHECK(Holders(*for_4, c).empty());
  CHECK(f.encodings == 1);
}

TEST_CASE("broadcast registry: destroy drops it and later uses name it", "[broadcast]") {
  Fixture f("value");
  absl::StatusOr<std::shared_ptr<const void>> value = f.registry.Value(f.id);
  REQUIRE_OK(value);
  CHECK(*static_cast<const std::string*>(value->get()) == "value");
  f.registry.Destroy(f.id);
  CHECK(f.dropped == std::vector<int64_t>{f.id});
  for (absl::Status s :
       {f.registry.Value(f.id).status(), f.registry.Locate(f.id, "1", "w1:1", {}).status()}) {
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(s.message() ==
          "broadcast 0 (std::string) was destroyed (Broadcast::destroy()) and "
          "cannot be used any more");
  }
  std::string chunk;
  CHECK(f.registry.Chunk(f.id, 0, &chunk).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(f.encodings == 0);   // never encoded: nobody asked before it went
  f.registry.Destroy(f.id);  // a second time does nothing
  CHECK(f.dropped.size() == 1);
  CHECK(f.registry.Value(9).status().message() == "broadcast 9 does not exist in this application");
  // The next broadcast gets the next id.
  CHECK(f.registry.Add(
            std::make_shared<const int>(1), [] { return std::string(); }, "int") == 1);
}

}  // namespace
}  // namespace kiln::internal
