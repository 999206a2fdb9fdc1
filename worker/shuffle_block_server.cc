#include "worker/shuffle_block_server.h"

#include <algorithm>
#include <vector>

#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::worker {

ShuffleBlockServer::ShuffleBlockServer(ShuffleBlockServerOptions options)
    : options_(std::move(options)) {
  options_.chunk_size = std::max<int64_t>(options_.chunk_size, 1);
}

absl::Status ShuffleBlockServer::Serve(const proto::FetchShuffleBlocksRequest& request,
                                       const ChunkSink& sink) const {
  if (options_.fail_every_fetch) {
    return absl::UnavailableError(
        "this worker refuses every shuffle fetch (kiln.test.failShuffleFetches=true)");
  }
  if (!IsAppId(request.app_id())) {
    return absl::InvalidArgumentError(
        StrCat("invalid app id '", request.app_id(), "' in a shuffle fetch"));
  }
  if (request.shuffle_id() < 0 || request.reduce_id() < 0) {
    return absl::InvalidArgumentError(StrCat("negative shuffle id ", request.shuffle_id(),
                                             " or reduce id ", request.reduce_id()));
  }
  for (int map_id : request.map_ids()) {
    if (map_id < 0) return absl::InvalidArgumentError(StrCat("negative map id ", map_id));
  }
  const std::string app_dir = StrCat(options_.work_dir, "/", request.app_id());
  proto::ShuffleChunk chunk;  // reused: its data string keeps its capacity across chunks
  for (int map_id : request.map_ids()) {
    RETURN_IF_ERROR(ServeBlock(app_dir, request, map_id, &chunk, sink));
  }
  return absl::OkStatus();
}

absl::Status ShuffleBlockServer::ServeBroadcastChunk(const proto::FetchBroadcastChunkRequest& r,
                                                     proto::BroadcastChunkData* out) const {
  if (options_.fail_every_fetch) {
    return absl::UnavailableError(
        "this worker refuses every broadcast fetch (kiln.test.failShuffleFetches=true)");
  }
  if (!IsAppId(r.app_id())) {
    return absl::InvalidArgumentError(
        StrCat("invalid app id '", r.app_id(), "' in a broadcast fetch"));
  }
  if (r.broadcast_id() < 0 || r.chunk() < 0) {
    return absl::InvalidArgumentError(
        StrCat("negative broadcast id ", r.broadcast_id(), " or chunk ", r.chunk()));
  }
  const std::string path =
      BroadcastChunkPath(StrCat(options_.work_dir, "/", r.app_id()), r.broadcast_id(), r.chunk());
  absl::StatusOr<std::string> data = ReadFile(path);
  if (!data.ok()) {
    if (absl::IsNotFound(data.status())) {
      return absl::NotFoundError(StrCat("no executor of ", r.app_id(),
                                        " on this worker holds chunk ", r.chunk(), " of broadcast ",
                                        r.broadcast_id()));
    }
    return data.status();
  }
  broadcast_bytes_served_.fetch_add(static_cast<int64_t>(data->size()), std::memory_order_relaxed);
  *out->mutable_data() = *std::move(data);
  return absl::OkStatus();
}

absl::Status ShuffleBlockServer::ServeBlock(const std::string& app_dir,
                                            const proto::FetchShuffleBlocksRequest& r, int map_id,
                                            proto::ShuffleChunk* chunk,
                                            const ChunkSink& sink) const {
  absl::StatusOr<ShuffleBlockFile> block =
      OpenShuffleBlock(app_dir, r.shuffle_id(), map_id, r.reduce_id());
  if (!block.ok()) return Annotate(block.status(), StrCat("app ", r.app_id()));
  chunk->set_map_id(map_id);
  std::string* buffer = chunk->mutable_data();
  uint64_t sent = 0;
  do {  // an empty block is one empty chunk
    const uint64_t n = std::min<uint64_t>(block->length - sent, options_.chunk_size);
    buffer->resize(n);
    if (n > 0) {
      RETURN_IF_ERROR(
          PreadFully(block->fd.get(), block->offset + sent, buffer->data(), n, block->data_path));
    }
    sent += n;
    chunk->set_last(sent == block->length);
    RETURN_IF_ERROR(sink(*chunk));
    bytes_served_.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  } while (sent < block->length);
  blocks_served_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace kiln::worker
