#include "worker/shuffle_block_server.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::worker {
namespace {

std::string MapOutputName(const std::string& app_id, int shuffle_id, int map_id) {
  return StrCat("map output (shuffle ", shuffle_id, ", map ", map_id, ") of app ", app_id);
}

}  // namespace

ShuffleBlockServer::ShuffleBlockServer(ShuffleBlockServerOptions options)
    : options_(std::move(options)) {
  options_.chunk_size = std::max<int64_t>(options_.chunk_size, 1);
}

absl::Status ShuffleBlockServer::Serve(const proto::FetchShuffleBlocksRequest& request,
                                       const ChunkSink& sink) const {
  if (!IsSafePathComponent(request.app_id())) {
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

absl::Status ShuffleBlockServer::ServeBlock(const std::string& app_dir,
                                            const proto::FetchShuffleBlocksRequest& r, int map_id,
                                            proto::ShuffleChunk* chunk,
                                            const ChunkSink& sink) const {
  const std::string name = MapOutputName(r.app_id(), r.shuffle_id(), map_id);
  const std::string index_path = ShuffleIndexPath(app_dir, r.shuffle_id(), map_id);
  const std::string data_path = ShuffleDataPath(app_dir, r.shuffle_id(), map_id);
  struct stat st;
  if (stat(index_path.c_str(), &st) != 0) {
    return absl::NotFoundError(StrCat(name, " not found on this worker: no ", index_path));
  }
  auto offsets = ReadShuffleIndex(index_path);
  if (!offsets.ok()) return Annotate(offsets.status(), name);
  const int partitions = static_cast<int>(offsets->size()) - 1;
  if (r.reduce_id() >= partitions) {
    return absl::InvalidArgumentError(StrCat("reduce id ", r.reduce_id(), " is out of range: ",
                                             name, " has ", partitions, " partitions"));
  }
  absl::StatusOr<ScopedFd> fd = OpenFile(data_path, O_RDONLY, "shuffle file");
  if (!fd.ok()) {
    if (absl::IsNotFound(fd.status())) {
      return absl::NotFoundError(StrCat(name, " not found on this worker: no ", data_path));
    }
    return fd.status();
  }
  uint64_t offset = (*offsets)[r.reduce_id()];
  const uint64_t end = (*offsets)[r.reduce_id() + 1];
  chunk->set_map_id(map_id);
  std::string* buffer = chunk->mutable_data();
  do {
    const uint64_t n = std::min<uint64_t>(end - offset, options_.chunk_size);
    buffer->resize(n);
    RETURN_IF_ERROR(Annotate(PreadFully(fd->get(), offset, buffer->data(), n, data_path), name));
    offset += n;
    chunk->set_last(offset == end);
    RETURN_IF_ERROR(sink(*chunk));
  } while (offset < end);
  return absl::OkStatus();
}

}  // namespace kiln::worker
