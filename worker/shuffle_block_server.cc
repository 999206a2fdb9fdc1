#include "worker/shuffle_block_server.h"

#include <algorithm>
#include <string>

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
  Packer packer(sink, options_.chunk_size, &blocks_served_, &bytes_served_);
  for (int map_id : request.map_ids()) {
    absl::StatusOr<ShuffleBlockFile> block =
        OpenShuffleBlock(app_dir, request.shuffle_id(), map_id, request.reduce_id());
    if (!block.ok()) {
      // The blocks before it reach the reader, which then fails on this one.
      RETURN_IF_ERROR(packer.Flush());
      return Annotate(block.status(), StrCat("app ", request.app_id()));
    }
    RETURN_IF_ERROR(packer.Add(map_id, *block));
  }
  return packer.Flush();
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

absl::Status ShuffleBlockServer::Packer::Add(int map_id, const ShuffleBlockFile& block) {
  if (pending_ && pending_bytes_ + block.length <= chunk_size_) {
    proto::ShuffleBlock* packed = chunk_.add_blocks();  // cleared ones keep their room
    packed->set_map_id(map_id);
    absl::Status read = Read(block, 0, block.length, packed->mutable_data());
    if (!read.ok()) {
      // The blocks before it reach the reader, which then fails on this one.
      chunk_.mutable_blocks()->RemoveLast();
      RETURN_IF_ERROR(Flush());
      return read;
    }
    pending_bytes_ += block.length;
    ++pending_blocks_;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(Flush());
  uint64_t sent = 0;
  do {  // an empty block is one empty piece
    const uint64_t n = std::min<uint64_t>(block.length - sent, chunk_size_);
    chunk_.set_map_id(map_id);
    RETURN_IF_ERROR(Read(block, sent, n, chunk_.mutable_data()));
    sent += n;
    chunk_.set_last(sent == block.length);
    pending_ = true;
    pending_bytes_ = n;
    pending_blocks_ = chunk_.last() ? 1 : 0;
    // A block's last piece waits for the small blocks that may follow it.
    if (!chunk_.last()) RETURN_IF_ERROR(Flush());
  } while (sent < block.length);
  return absl::OkStatus();
}

absl::Status ShuffleBlockServer::Packer::Flush() {
  if (!pending_) return absl::OkStatus();
  pending_ = false;
  absl::Status status = sink_(chunk_);
  chunk_.mutable_blocks()->Clear();
  if (!status.ok()) return status;
  blocks_served_->fetch_add(pending_blocks_, std::memory_order_relaxed);
  bytes_served_->fetch_add(static_cast<int64_t>(pending_bytes_), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status ShuffleBlockServer::Packer::Read(const ShuffleBlockFile& block, uint64_t from,
                                              uint64_t n, std::string* out) {
  out->resize(n);
  if (n == 0) return absl::OkStatus();
  return PreadFully(block.fd(), block.offset + from, out->data(), n, block.data_path);
}

}  // namespace kiln::worker
