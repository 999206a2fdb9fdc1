#include "runtime/shuffle_reader.h"

#include <algorithm>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/cord.h"
#include "common/clients/worker_client.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::runtime {
namespace {

constexpr char kFetchFailureUrl[] = "type.kiln.dev/kiln.FetchFailure";

std::string BlockLabel(int shuffle_id, int map_id, int reduce_id, const std::string& address) {
  std::string label = StrCat("shuffle ", shuffle_id, " map ", map_id, " reduce ", reduce_id);
  if (!address.empty()) StrAppend(&label, " from worker ", address);
  return label;
}

}  // namespace

absl::Status FetchFailedError(const FetchFailure& failure, const absl::Status& cause) {
  std::string where = failure.address.empty() ? "local disk" : StrCat("worker ", failure.address);
  absl::Status status(cause.ok() ? absl::StatusCode::kUnknown : cause.code(),
                      StrCat("fetch failed: shuffle ", failure.shuffle_id, " map ", failure.map_id,
                             " on ", where, ": ", cause.message()));
  std::string payload = StrCat(failure.shuffle_id, "\n", failure.map_id, "\n", failure.address);
  status.SetPayload(kFetchFailureUrl,
                    absl::Cord(absl::string_view(payload.data(), payload.size())));
  return status;
}

std::optional<FetchFailure> GetFetchFailure(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFetchFailureUrl);
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  size_t first = text.find('\n');
  size_t second = first == std::string::npos ? first : text.find('\n', first + 1);
  if (second == std::string::npos) return std::nullopt;
  FetchFailure failure;
  std::string_view view(text);
  if (!ParseNumber(view.substr(0, first), &failure.shuffle_id) ||
      !ParseNumber(view.substr(first + 1, second - first - 1), &failure.map_id)) {
    return std::nullopt;
  }
  failure.address = text.substr(second + 1);
  return failure;
}

WorkerClientCache::WorkerClientCache(int64_t max_message_bytes,
                                     std::shared_ptr<const rpc::Security> security)
    : ClientCache<WorkerClient>([max_message_bytes, security](const std::string& address) {
        return std::make_shared<WorkerClient>(WorkerClientOptions{
            .address = address, .max_message_bytes = max_message_bytes, .security = security});
      }) {}

WorkerShuffleReader::WorkerShuffleReader(WorkerShuffleReaderOptions options,
                                         WorkerClientCache* clients)
    : options_(std::move(options)), clients_(clients) {
  options_.io_buffer_bytes = std::max<int64_t>(options_.io_buffer_bytes, 4096);
}

WorkerShuffleReader::~WorkerShuffleReader() = default;

absl::Status WorkerShuffleReader::Read(const ShuffleReadParams& params, int reduce_id,
                                       FrameCallback on_frame) {
  // Map outputs in map-id order, wherever they are: a reduce task sees the same input
  // in the same order on every run, also after a fault moved map outputs to other
  // workers, so what it computes and writes is byte-identical.
  std::vector<const MapLocation*> maps;
  for (const MapLocation& map : params.maps) maps.push_back(&map);
  std::sort(maps.begin(), maps.end(),
            [](const MapLocation* a, const MapLocation* b) { return a->map_id < b->map_id; });
  // A map output the driver does not know (lost, and the stage that makes it did not
  // rerun because the input was expected from a cache) must be made first.
  for (int m = 0; m < params.num_maps; ++m) {
    if (static_cast<size_t>(m) >= maps.size() || maps[m]->map_id != m) {
      return FetchFailedError(
          FetchFailure{params.shuffle_id, m, ""},
          absl::NotFoundError(StrCat("map output ", m, " of shuffle ", params.shuffle_id,
                                     " is not available; its map stage runs again")));
    }
  }
  auto is_local = [&](const MapLocation& map) {
    return map.address.empty() ||
           (!options_.local_worker_id.empty() && map.worker_id == options_.local_worker_id);
  };
  // One stream per remote worker, all opened now so that every worker's blocks are in
  // flight while earlier ones are consumed.
  std::unordered_map<std::string, RemoteStream> remotes;
  for (const MapLocation* map : maps) {
    if (is_local(*map)) continue;
    RemoteStream& remote = remotes[map->address];
    remote.address = map->address;
    remote.retries_left = options_.max_retries;
    remote.request.set_app_id(options_.app_id);
    remote.request.set_shuffle_id(params.shuffle_id);
    remote.request.set_reduce_id(reduce_id);
    remote.request.add_map_ids(map->map_id);
  }
  if (!remotes.empty() && clients_ == nullptr) {
    return absl::InternalError("shuffle reader has no worker clients for remote blocks");
  }
  if (chunks_.size() < remotes.size()) chunks_.resize(remotes.size());
  size_t next_chunk = 0;
  for (auto& [address, remote] : remotes) {
    remote.chunk = &chunks_[next_chunk++];
    remote.stream =
        clients_->Get(address)->OpenShuffleBlocks(remote.request, options_.fetch_timeout);
  }
  for (const MapLocation* map : maps) {
    if (is_local(*map)) {
      RETURN_IF_ERROR(ReadLocal(params.shuffle_id, map->map_id, reduce_id, on_frame));
    } else {
      RETURN_IF_ERROR(ReadRemote(remotes[map->address], params.shuffle_id, map->address,
                                 map->map_id, reduce_id, on_frame));
    }
  }
  for (auto& [address, remote] : remotes) {
    const int last_map = remote.request.map_ids(remote.request.map_ids_size() - 1);
    bool more = remote.next_piece != kNoPiece;
    if (!more) {
      ScopedNanos wait(&metrics_.wait_nanos);
      more = remote.stream->Next(remote.chunk);
    }
    absl::Status status =
        more ? absl::DataLossError("the worker sent more than was asked") : remote.stream->Finish();
    if (!status.ok()) {
      return FetchFailedError(FetchFailure{params.shuffle_id, last_map, address}, status);
    }
  }
  return absl::OkStatus();
}

absl::Status WorkerShuffleReader::ReadLocal(int shuffle_id, int map_id, int reduce_id,
                                            FrameCallback on_frame) {
  const FetchFailure failure{shuffle_id, map_id, ""};
  absl::StatusOr<ShuffleBlockFile> block =
      OpenShuffleBlock(options_.local_app_dir, shuffle_id, map_id, reduce_id);
  if (!block.ok()) return FetchFailedError(failure, block.status());
  if (block->length == 0) return absl::OkStatus();
  uint64_t pos = block->offset;
  const uint64_t end = block->offset + block->length;
  FrameDecoder* decoder = &decoder_;
  decoder->Reset(BlockLabel(shuffle_id, map_id, reduce_id, ""));
  absl::Status caller_status;
  auto deliver = [&](std::string_view frame) {
    metrics_.raw_bytes += static_cast<int64_t>(frame.size());
    caller_status = on_frame(frame);
    return caller_status;
  };
  if (buffer_.size() < static_cast<size_t>(options_.io_buffer_bytes)) {
    buffer_.resize(static_cast<size_t>(options_.io_buffer_bytes));
  }
  while (pos < end) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - pos, buffer_.size()));
    absl::Status status;
    {
      ScopedNanos wait(&metrics_.wait_nanos);
      status = PreadFully(block->fd(), pos, buffer_.data(), n, block->data_path);
    }
    if (!status.ok()) return FetchFailedError(failure, status);
    pos += n;
    metrics_.local_bytes += static_cast<int64_t>(n);
    status = decoder->Feed(std::string_view(buffer_.data(), n), deliver);
    if (!status.ok()) return caller_status.ok() ? FetchFailedError(failure, status) : status;
  }
  absl::Status status = decoder->Finish();
  if (!status.ok()) return FetchFailedError(failure, status);
  metrics_.frames += decoder->frames();
  ++metrics_.local_blocks;
  return absl::OkStatus();
}

absl::Status WorkerShuffleReader::ReadRemote(RemoteStream& remote, int shuffle_id,
                                             const std::string& address, int map_id, int reduce_id,
                                             FrameCallback on_frame) {
  const FetchFailure failure{shuffle_id, map_id, address};
  FrameDecoder* decoder = &decoder_;
  decoder->Reset(BlockLabel(shuffle_id, map_id, reduce_id, address));
  absl::Status caller_status;
  auto deliver = [&](std::string_view frame) {
    metrics_.raw_bytes += static_cast<int64_t>(frame.size());
    caller_status = on_frame(frame);
    return caller_status;
  };
  while (true) {
    Piece piece;
    absl::StatusOr<bool> got = NextPiece(remote, &piece);
    if (!got.ok()) return FetchFailedError(failure, got.status());
    if (!*got) {
      absl::Status status = remote.stream->Finish();
      if (status.ok()) {
        status = absl::DataLossError(StrCat("the stream ended before the block of map ", map_id));
      }
      if (decoder->frames() == 0 && Reopen(remote, map_id, status)) {
        decoder->Reset(BlockLabel(shuffle_id, map_id, reduce_id, address));
        continue;
      }
      return FetchFailedError(failure, status);
    }
    if (piece.map_id != map_id) {
      return FetchFailedError(
          failure, absl::DataLossError(StrCat("worker sent a chunk of map ", piece.map_id,
                                              " where the block of map ", map_id, " was due")));
    }
    metrics_.remote_bytes += static_cast<int64_t>(piece.data->size());
    absl::Status status = decoder->Feed(*piece.data, deliver);
    if (status.ok() && piece.last) status = decoder->Finish();
    if (!status.ok()) return caller_status.ok() ? FetchFailedError(failure, status) : status;
    if (piece.last) break;
  }
  metrics_.frames += decoder->frames();
  if (decoder->frames() > 0) ++metrics_.remote_blocks;
  return absl::OkStatus();
}

absl::StatusOr<bool> WorkerShuffleReader::NextPiece(RemoteStream& remote, Piece* piece) {
  proto::ShuffleChunk& chunk = *remote.chunk;
  if (remote.next_piece == kNoPiece) {
    bool got;
    {
      ScopedNanos wait(&metrics_.wait_nanos);
      got = remote.stream->Next(&chunk);
    }
    if (!got) return false;
    if (!chunk.last() && chunk.blocks_size() > 0) {
      return absl::DataLossError(StrCat("worker packed whole blocks after a piece of map ",
                                        chunk.map_id(), " that does not end its block"));
    }
    remote.next_piece = kOwnPiece;
  }
  if (remote.next_piece == kOwnPiece) {
    *piece = Piece{.map_id = chunk.map_id(), .data = &chunk.data(), .last = chunk.last()};
    remote.next_piece = chunk.blocks_size() > 0 ? 0 : kNoPiece;
    return true;
  }
  const proto::ShuffleBlock& block = chunk.blocks(remote.next_piece);
  *piece = Piece{.map_id = block.map_id(), .data = &block.data(), .last = true};
  remote.next_piece =
      remote.next_piece + 1 < chunk.blocks_size() ? remote.next_piece + 1 : kNoPiece;
  return true;
}

bool WorkerShuffleReader::Reopen(RemoteStream& remote, int map_id, const absl::Status& status) {
  const bool transient = absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
                         absl::IsCancelled(status) || absl::IsResourceExhausted(status);
  if (!transient || remote.retries_left <= 0) return false;
  --remote.retries_left;
  // The blocks before `map_id` were read whole: ask for the rest only.
  proto::FetchShuffleBlocksRequest rest = remote.request;
  rest.clear_map_ids();
  bool from_here = false;
  for (int id : remote.request.map_ids()) {
    from_here = from_here || id == map_id;
    if (from_here) rest.add_map_ids(id);
  }
  spdlog::warn(
      "shuffle {} reduce {}: the stream from {} broke before map {} ({}); retrying in {} ms, "
      "{} retr{} left (kiln.shuffle.io.maxRetries)",
      rest.shuffle_id(), rest.reduce_id(), remote.address, map_id, View(status.message()),
      options_.retry_wait.count(), remote.retries_left, remote.retries_left == 1 ? "y" : "ies");
  std::this_thread::sleep_for(options_.retry_wait);  // Spark's retryWait: a fixed pause
  remote.request = std::move(rest);
  remote.next_piece = kNoPiece;
  remote.stream =
      clients_->Get(remote.address)->OpenShuffleBlocks(remote.request, options_.fetch_timeout);
  return true;
}

}  // namespace kiln::runtime
