#include "runtime/text_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include "common/clock.h"
#include "common/codec.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {
namespace {

namespace fs = std::filesystem;

// How much whole_text_files reads at a time.
constexpr size_t kReadBytes = 256 << 10;

// How much is read past the split's end at a time to finish its last line.
constexpr int64_t kTailReadBytes = 64 << 10;

void AddFileSplits(const std::string& path, int64_t size, int64_t max_bytes,
                   std::vector<FileSplit>* splits) {
  if (size > 0 && CompressionOfPath(path) != TextCompression::kNone) {
    splits->push_back(FileSplit{path, 0, size, size});  // a stream: not splittable
    return;
  }
  for (int64_t start = 0; start < size; start += max_bytes) {
    splits->push_back(FileSplit{path, start, std::min(max_bytes, size - start), size});
  }
}

}  // namespace

std::string EncodeFileSplit(const FileSplit& split) {
  std::string out;
  Writer w(&out);
  Encode(w, split.path);
  Encode(w, split.start);
  Encode(w, split.length);
  Encode(w, split.file_size);
  return out;
}

bool DecodeFileSplit(std::string_view encoded, FileSplit* split) {
  Reader r(encoded);
  Decode(r, split->path);
  Decode(r, split->start);
  Decode(r, split->length);
  Decode(r, split->file_size);
  return r.ok() && r.done();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ListInputFiles(
    const std::string& path_or_dir) {
  std::error_code ec;
  fs::file_status status = fs::status(path_or_dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(StrCat("input path does not exist: ", path_or_dir));
  }
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("cannot read input path ", path_or_dir, ": ", ec.message()));
  }
  std::vector<std::pair<std::string, int64_t>> files;
  if (!fs::is_directory(status)) {
    uintmax_t size = fs::file_size(path_or_dir, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("input path ", path_or_dir, " is not a readable file: ", ec.message()));
    }
    files.emplace_back(path_or_dir, static_cast<int64_t>(size));
    return files;
  }
  fs::directory_iterator it(path_or_dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name[0] == '_') continue;
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    uintmax_t size = it->file_size(file_ec);
    if (file_ec) {
      return absl::PermissionDeniedError(
          StrCat("cannot read input file ", it->path().string(), ": ", file_ec.message()));
    }
    files.emplace_back(it->path().string(), static_cast<int64_t>(size));
  }
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("cannot list input directory ", path_or_dir, ": ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<std::vector<FileSplit>> ComputeSplits(const std::string& path_or_dir,
                                                     int64_t max_partition_bytes) {
  if (max_partition_bytes <= 0) {
    return absl::InvalidArgumentError(
        StrCat("kiln.files.maxPartitionBytes must be greater than 0, not ", max_partition_bytes));
  }
  ASSIGN_OR_RETURN(auto files, ListInputFiles(path_or_dir));
  std::vector<FileSplit> splits;
  for (const auto& [path, size] : files) AddFileSplits(path, size, max_partition_bytes, &splits);
  return splits;
}

std::vector<std::vector<std::string>> GroupFiles(
    const std::vector<std::pair<std::string, int64_t>>& files, int64_t max_group_bytes) {
  std::vector<std::vector<std::string>> groups;
  int64_t in_group = 0;
  for (const auto& [path, size] : files) {
    if (groups.empty() || in_group + size > max_group_bytes) {
      groups.emplace_back();
      in_group = 0;
    }
    groups.back().push_back(path);
    in_group += size;
  }
  return groups;
}

absl::StatusOr<std::string> ReadWholeText(const std::string& path, int64_t* file_bytes,
                                          int64_t* read_nanos) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDONLY, "input file"));
  std::unique_ptr<DecompressedFile> decompressed;
  if (const TextCompression compression = CompressionOfPath(path);
      compression != TextCompression::kNone) {
    ASSIGN_OR_RETURN(decompressed,
                     DecompressedFile::Open(fd.get(), path, compression, file_bytes, read_nanos));
  }
  std::string text;
  for (uint64_t offset = 0;;) {  // a chunk at a time, into the room after the text
    const size_t at = text.size();
    text.resize(at + kReadBytes);
    size_t n = 0;
    if (decompressed != nullptr) {
      ASSIGN_OR_RETURN(n, decompressed->Read(text.data() + at, kReadBytes));
    } else {
      ScopedNanos reading(read_nanos);
      ASSIGN_OR_RETURN(n, ReadAt(fd.get(), offset, text.data() + at, kReadBytes, path));
      offset += n;
      *file_bytes += static_cast<int64_t>(n);
    }
    text.resize(at + n);
    // A plain file's read stops short only at its end; a stream's ends with 0.
    if (n == 0 || (decompressed == nullptr && n < kReadBytes)) return text;
  }
}

LineReader::LineReader(int64_t buffer_bytes)
    : min_capacity_(static_cast<size_t>(std::max<int64_t>(buffer_bytes, 16))) {}

LineReader::~LineReader() { Close(); }

void LineReader::Close() { fd_.Reset(); }

absl::Status LineReader::Open(const FileSplit& split) {
  Close();
  path_ = split.path;
  status_ = absl::OkStatus();
  end_ = split.start + split.length;
  buf_offset_ = split.start > 0 ? split.start - 1 : 0;
  pos_ = limit_ = 0;
  eof_ = false;
  done_ = true;
  absl::StatusOr<ScopedFd> fd = OpenFile(path_, O_RDONLY, "input file");
  if (!fd.ok()) {
    status_ = fd.status();
    return status_;
  }
  fd_ = *std::move(fd);
  ::posix_fadvise(fd_.get(), split.start, 0, POSIX_FADV_SEQUENTIAL);
  if (buffer_.size() < min_capacity_) buffer_.resize(min_capacity_);
  decompressed_.reset();
  if (const TextCompression compression = CompressionOfPath(path_);
      compression != TextCompression::kNone) {
    if (split.start != 0) {
      status_ = absl::InvalidArgumentError(StrCat(
          "input file ", path_, " is compressed and cannot be read from byte ", split.start));
      return status_;
    }
    absl::StatusOr<std::unique_ptr<DecompressedFile>> d =
        DecompressedFile::Open(fd_.get(), path_, compression, &bytes_read_, &read_nanos_);
    if (!d.ok()) {
      status_ = d.status();
      return status_;
    }
    decompressed_ = *std::move(d);
    end_ = std::numeric_limits<int64_t>::max();  // every line of the stream
  }
  if (split.length <= 0) return absl::OkStatus();
  done_ = false;
  if (split.start > 0 && !SkipPartialLine()) done_ = true;
  return status_;
}

bool LineReader::Fill() {
  if (eof_ || !status_.ok()) return false;
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, limit_ - pos_);
    buf_offset_ += static_cast<int64_t>(pos_);
    limit_ -= pos_;
    pos_ = 0;
  }
  if (limit_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);  // a very long line
  if (decompressed_ != nullptr) {
    absl::StatusOr<size_t> got =
        decompressed_->Read(buffer_.data() + limit_, buffer_.size() - limit_);
    if (!got.ok()) status_ = got.status();
    eof_ = !got.ok() || *got == 0;
    if (eof_) return false;
    limit_ += *got;
    return true;
  }
  const int64_t read_at = buf_offset_ + static_cast<int64_t>(limit_);
  size_t want =
      std::min<size_t>(buffer_.size() - limit_,
                       static_cast<size_t>(std::max<int64_t>(end_ - read_at, 0) + kTailReadBytes));
  absl::StatusOr<size_t> n;
  {
    ScopedNanos reading(&read_nanos_);
    n = ReadAt(fd_.get(), static_cast<uint64_t>(read_at), buffer_.data() + limit_, want, path_);
  }
  if (!n.ok()) {
    status_ = n.status();
    return false;
  }
  eof_ = *n < want;  // ReadAt stops short only at the end of the file
  limit_ += *n;
  bytes_read_ += static_cast<int64_t>(*n);
  return *n > 0;
}

bool LineReader::SkipPartialLine() {
  for (;;) {
    if (pos_ == limit_ && !Fill()) return false;
    const char* base = buffer_.data();
    const void* nl = std::memchr(base + pos_, '\n', limit_ - pos_);
    if (nl != nullptr) {
      pos_ = static_cast<size_t>(static_cast<const char*>(nl) - base) + 1;
      return true;
    }
    pos_ = limit_;
  }
}

bool LineReader::Next(std::string_view* line) {
  if (done_) return false;
  if (buf_offset_ + static_cast<int64_t>(pos_) >= end_) {  // the line starts in the next split
    done_ = true;
    return false;
  }
  size_t scanned = pos_;  // bytes before `scanned` hold no '\n'
  for (;;) {
    const char* base = buffer_.data();
    const void* nl = std::memchr(base + scanned, '\n', limit_ - scanned);
    if (nl != nullptr) {
      size_t q = static_cast<size_t>(static_cast<const char*>(nl) - base);
      size_t len = q - pos_;
      if (len > 0 && base[q - 1] == '\r') --len;
      *line = std::string_view(base + pos_, len);
      pos_ = q + 1;
      ++lines_;
      return true;
    }
    size_t partial = limit_ - pos_;
    if (!Fill()) {
      done_ = true;
      if (!status_.ok() || pos_ == limit_) return false;
      size_t len = limit_ - pos_;  // the last line has no final newline
      if (buffer_[limit_ - 1] == '\r') --len;
      *line = std::string_view(buffer_.data() + pos_, len);
      pos_ = limit_;
      ++lines_;
      return true;
    }
    scanned = pos_ + partial;
  }
}

}  // namespace kiln::runtime
