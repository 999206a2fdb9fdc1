#include "runtime/object_file.h"

#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "common/clock.h"
#include "common/codec.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {
namespace {

constexpr std::string_view kMagic = "KILNOBJ1";
constexpr size_t kBlockHeaderBytes = 16 + 4 + 4 + 8;
constexpr size_t kScanBytes = 64 << 10;  // read at a time when looking for a sync marker

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetFixed(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::string ObjectFileHeader(std::string_view type_name, SyncMarker* sync) {
  std::random_device random;
  for (size_t i = 0; i < sync->size(); i += 4) {
    const uint32_t r = random();
    std::memcpy(sync->data() + i, &r, 4);
  }
  std::string out(kMagic);
  out.append(sync->data(), sync->size());
  Writer(&out).PutLengthPrefixed(type_name);
  return out;
}

void AppendObjectBlock(const SyncMarker& sync, std::string_view payload, uint32_t records,
                       std::string* out) {
  out->append(sync.data(), sync.size());
  PutFixed(out, payload.size(), 4);
  PutFixed(out, records, 4);
  PutFixed(out, XXH64(payload.data(), payload.size(), 0), 8);
  out->append(payload);
}

absl::Status ObjectBlockReader::Corrupt(int64_t offset, std::string_view what) const {
  return absl::DataLossError(StrCat("object file ", path_, ": ", what, " at byte ", offset,
                                    " (corrupt or not an object file)"));
}

absl::Status ObjectBlockReader::ReadFully(int64_t offset, size_t n, std::string* out) {
  out->resize(n);
  ScopedNanos reading(&read_nanos_);
  ASSIGN_OR_RETURN(size_t got,
                   ReadAt(fd_.get(), static_cast<uint64_t>(offset), out->data(), n, path_));
  bytes_read_ += static_cast<int64_t>(got);
  if (got != n) return Corrupt(offset, "the file ends inside a block");
  return absl::OkStatus();
}

absl::Status ObjectBlockReader::ReadHeader(std::string_view type_name, int64_t* header_end) {
  const size_t want = static_cast<size_t>(std::min<int64_t>(file_size_, 4096));
  RETURN_IF_ERROR(ReadFully(0, want, &block_));
  if (!std::string_view(block_).starts_with(kMagic) || block_.size() < kMagic.size() + 16) {
    return Corrupt(0, "no object file header");
  }
  std::memcpy(sync_.data(), block_.data() + kMagic.size(), sync_.size());
  Reader r(std::string_view(block_).substr(kMagic.size() + sync_.size()));
  std::string_view stored = r.GetLengthPrefixed();
  if (!r.ok()) return Corrupt(0, "a cut header");
  if (stored != type_name) {
    return absl::InvalidArgumentError(StrCat("object file ", path_, " holds records of type ",
                                             DemangledType(std::string(stored)), ", not ",
                                             DemangledType(std::string(type_name))));
  }
  *header_end = static_cast<int64_t>(want - r.remaining());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ObjectBlockReader::FindSync(int64_t from) {
  std::string window;
  for (int64_t at = from; at < file_size_;) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(kScanBytes, file_size_ - at));
    RETURN_IF_ERROR(ReadFully(at, n, &window));
    auto hit = std::search(window.begin(), window.end(), sync_.begin(), sync_.end());
    if (hit != window.end()) return at + (hit - window.begin());
    if (at + static_cast<int64_t>(n) >= file_size_) break;
    at += static_cast<int64_t>(n - (sync_.size() - 1));  // a marker across the boundary
  }
  return file_size_;
}

absl::Status ObjectBlockReader::Open(const FileSplit& split, std::string_view type_name) {
  path_ = split.path;
  status_ = absl::OkStatus();
  file_size_ = split.file_size;
  end_ = std::min(split.start + split.length, file_size_);
  ASSIGN_OR_RETURN(fd_, OpenFile(path_, O_RDONLY, "input file"));
  int64_t header_end = 0;
  status_ = ReadHeader(type_name, &header_end);
  if (!status_.ok()) return status_;
  if (split.start <= header_end) {
    next_ = header_end;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> found = FindSync(split.start);
  if (!found.ok()) return status_ = found.status();
  next_ = *found;
  return absl::OkStatus();
}

bool ObjectBlockReader::Next(std::string_view* payload, uint32_t* records) {
  if (!status_.ok() || next_ >= end_ || next_ >= file_size_) return false;
  const int64_t at = next_;
  status_ = ReadFully(at, kBlockHeaderBytes, &block_);
  if (!status_.ok()) return false;
  if (std::memcmp(block_.data(), sync_.data(), sync_.size()) != 0) {
    status_ = Corrupt(at, "no sync marker before a block");
    return false;
  }
  const uint64_t bytes = GetFixed(block_.data() + 16, 4);
  *records = static_cast<uint32_t>(GetFixed(block_.data() + 20, 4));
  const uint64_t checksum = GetFixed(block_.data() + 24, 8);
  if (bytes > static_cast<uint64_t>(file_size_ - at) - kBlockHeaderBytes) {
    status_ = Corrupt(at, "a block longer than the file");
    return false;
  }
  status_ = ReadFully(at + static_cast<int64_t>(kBlockHeaderBytes), bytes, &block_);
  if (!status_.ok()) return false;
  if (XXH64(block_.data(), block_.size(), 0) != checksum) {
    status_ = Corrupt(at, "a block that fails its checksum");
    return false;
  }
  next_ = at + static_cast<int64_t>(kBlockHeaderBytes + bytes);
  *payload = block_;
  return true;
}

}  // namespace kiln::runtime
