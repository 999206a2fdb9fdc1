#include "runtime/broadcast_fetcher.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <vector>

#include "common/clients/driver_client.h"
#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"
#include "runtime/shuffle_reader.h"
#include "spdlog/spdlog.h"

namespace kiln::runtime {
namespace {

// Chunks fetched between two reports to the driver (each also refreshes where the
// remaining chunks are).
constexpr size_t kReportEvery = 4;

class GrpcBroadcastFetcher final : public BroadcastFetcher {
 public:
  explicit GrpcBroadcastFetcher(BroadcastFetcherOptions options)
      : options_(std::move(options)),
        driver_(DriverClientOptions{.address = options_.driver_address,
                                    .call_timeout = options_.timeout,
                                    .max_message_bytes = options_.max_message_bytes,
                                    .security = options_.security}),
        workers_(options_.max_message_bytes, options_.security) {}

  absl::StatusOr<std::string> Fetch(int64_t id, BroadcastFetchStats* stats) override {
    ASSIGN_OR_RETURN(proto::BroadcastLocations where, Locate(id, {}));
    const int64_t total = where.total_bytes();
    const int64_t chunk_bytes = std::max<int64_t>(where.chunk_bytes(), 1);
    const int chunks =
        static_cast<int>(std::max<int64_t>(1, (total + chunk_bytes - 1) / chunk_bytes));
    if (total < 0 || where.checksums_size() != chunks || where.holders_size() != chunks) {
      return absl::DataLossError(StrCat("broadcast ", id, ": the driver describes ", total,
                                        " bytes in ", where.checksums_size(), " chunks of ",
                                        chunk_bytes, ", which does not add up"));
    }
    std::string out(static_cast<size_t>(total), '\0');
    std::vector<int> order(chunks);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 random(std::random_device{}());
    std::shuffle(order.begin(), order.end(), random);
    std::vector<int> unreported;
    // Where this worker serves the chunks from; without it they are still used, only
    // not kept for other executors.
    absl::Status dir = MakeDirs(BroadcastDir(options_.app_dir));
    if (!dir.ok()) {
      spdlog::warn("broadcast={} cannot be kept for other executors: {}", id, View(dir.message()));
    }
    for (int c : order) {
      if (unreported.size() >= kReportEvery) {
        ASSIGN_OR_RETURN(proto::BroadcastLocations fresher, Locate(id, unreported));
        if (fresher.holders_size() == chunks) where = std::move(fresher);
        unreported.clear();
      }
      const int64_t at = c * chunk_bytes;
      const int64_t size = std::min(chunk_bytes, total - at);
      ASSIGN_OR_RETURN(std::string data, FetchChunk(id, c, where, size, random, stats));
      if (size > 0) std::memcpy(out.data() + at, data.data(), static_cast<size_t>(size));
      if (dir.ok() && Store(id, c, data)) unreported.push_back(c);
    }
    if (!unreported.empty()) {
      absl::StatusOr<proto::BroadcastLocations> reported = Locate(id, unreported);
      if (!reported.ok()) {
        spdlog::debug("broadcast={} cannot report its last chunks: {}", id,
                      View(reported.status().message()));
      }
    }
    stats->chunks = chunks;
    return out;
  }

  void Remove(int64_t id) override {
    const std::string prefix = StrCat("broadcast_", id, "_");
    std::error_code error;
    for (const auto& file :
         std::filesystem::directory_iterator(BroadcastDir(options_.app_dir), error)) {
      if (file.path().filename().string().starts_with(prefix)) {
        std::filesystem::remove(file.path(), error);
      }
    }
  }

 private:
  absl::StatusOr<proto::BroadcastLocations> Locate(int64_t id, const std::vector<int>& held) {
    proto::LocateBroadcastRequest request;
    request.set_app_id(options_.app_id);
    request.set_executor_id(options_.executor_id);
    request.set_executor_token(options_.executor_token);
    request.set_broadcast_id(id);
    for (int c : held) request.add_held_chunks(c);
    absl::StatusOr<proto::BroadcastLocations> where = driver_.LocateBroadcast(request);
    if (where.ok()) return where;
    return FromDriverError(where.status(),
                           StrCat("broadcast ", id, ": asking the driver where it is"));
  }

  // The driver's own refusals name the broadcast; anything else is said where it
  // happened.
  static absl::Status FromDriverError(const absl::Status& s, const std::string& where) {
    if (absl::IsFailedPrecondition(s) || absl::IsNotFound(s)) return s;
    return Annotate(s, where);
  }

  absl::StatusOr<std::string> FetchChunk(int64_t id, int c, const proto::BroadcastLocations& where,
                                         int64_t size, std::mt19937_64& random,
                                         BroadcastFetchStats* stats) {
    const uint64_t checksum = where.checksums(c);
    auto valid = [&](const std::string& data) {
      return static_cast<int64_t>(data.size()) == size &&
             XXH64(data.data(), data.size(), 0) == checksum;
    };
    // Another executor of the application on this worker fetched it already.
    if (absl::StatusOr<std::string> local = ReadFile(BroadcastChunkPath(options_.app_dir, id, c));
        local.ok() && valid(*local)) {
      stats->from_disk += size;
      return local;
    }
    const auto& holders = where.holders(c).addresses();
    if (!holders.empty()) {
      const std::string& address = holders[random() % holders.size()];
      absl::StatusOr<std::string> peer =
          workers_.Get(address)->FetchBroadcastChunk(ChunkRequest(id, c), options_.timeout);
      if (peer.ok() && valid(*peer)) {
        stats->from_peers += size;
        return peer;
      }
      spdlog::debug("broadcast={} chunk={} from {} failed ({}); asking the driver", id, c, address,
                    peer.ok() ? "bad checksum" : View(peer.status().message()));
    }
    absl::StatusOr<std::string> data = driver_.FetchBroadcastChunk(ChunkRequest(id, c));
    if (!data.ok()) {
      return FromDriverError(data.status(),
                             StrCat("broadcast ", id, ": fetching chunk ", c, " from the driver"));
    }
    if (!valid(*data)) {
      return absl::DataLossError(StrCat("broadcast ", id, ": chunk ", c, " from the driver has ",
                                        data->size(), " bytes or a wrong checksum (", size,
                                        " bytes expected)"));
    }
    stats->from_driver += size;
    return data;
  }

  proto::FetchBroadcastChunkRequest ChunkRequest(int64_t id, int c) const {
    proto::FetchBroadcastChunkRequest request;
    request.set_app_id(options_.app_id);
    request.set_executor_id(options_.executor_id);
    request.set_executor_token(options_.executor_token);
    request.set_broadcast_id(id);
    request.set_chunk(c);
    return request;
  }

  // Keeps the chunk where this worker serves it; false when it cannot (then it is not
  // reported, and the value is still used).
  bool Store(int64_t id, int c, const std::string& data) {
    absl::Status s = WriteFileAtomic(BroadcastChunkPath(options_.app_dir, id, c), data);
    if (!s.ok()) {
      spdlog::warn("broadcast={} chunk={} cannot be kept for other executors: {}", id, c,
                   View(s.message()));
    }
    return s.ok();
  }

  const BroadcastFetcherOptions options_;
  DriverClient driver_;
  WorkerClientCache workers_;  // of the workers whose executors hold chunks
};

}  // namespace

std::unique_ptr<BroadcastFetcher> MakeBroadcastFetcher(BroadcastFetcherOptions options) {
  return std::make_unique<GrpcBroadcastFetcher>(std::move(options));
}

}  // namespace kiln::runtime
