#pragma once
// Kiln's object files (save_as_object_file / object_file): records in Kiln's binary
// codec, in checksummed blocks that a reader can find from any byte, so a file splits
// into byte ranges like a text file.
//
//   file   := header block*
//   header := "KILNOBJ1" sync[16] varint(len) type_name[len]
//   block  := sync[16] u32le(payload bytes) u32le(records) u64le(XXH64(payload)) payload
//
// `sync` is 16 random bytes of the file, repeated before every block (Hadoop's
// SequenceFile does the same). A split [start, start+length) reads each block whose sync
// starts in it: one not starting at the header looks for the first sync at or after
// `start`. `type_name` is the records' C++ type (its mangled name), checked by the
// reader. Not thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/files.h"
#include "runtime/text_input.h"

namespace kiln::runtime {

using SyncMarker = std::array<char, 16>;

// A new file's header, with a fresh random sync marker (returned in `*sync`).
std::string ObjectFileHeader(std::string_view type_name, SyncMarker* sync);
// Appends one block of `records` records whose encodings are `payload`.
void AppendObjectBlock(const SyncMarker& sync, std::string_view payload, uint32_t records,
                       std::string* out);

class ObjectBlockReader {
 public:
  // Opens the split; the file must hold records of `type_name`.
  absl::Status Open(const FileSplit& split, std::string_view type_name);
  // The next block of the split: its payload (valid until the next call) and record
  // count. False at the end of the split or on an error (status() says which: a block
  // that fails its checksum names the file and the block's offset).
  bool Next(std::string_view* payload, uint32_t* records);

  const absl::Status& status() const { return status_; }
  int64_t bytes_read() const { return bytes_read_; }
  int64_t read_nanos() const { return read_nanos_; }

 private:
  absl::Status ReadHeader(std::string_view type_name, int64_t* header_end);
  // The offset of the first sync marker at or after `from`; file_size_ if none.
  absl::StatusOr<int64_t> FindSync(int64_t from);
  absl::Status ReadFully(int64_t offset, size_t n, std::string* out);
  absl::Status Corrupt(int64_t offset, std::string_view what) const;

  ScopedFd fd_;
  std::string path_;
  SyncMarker sync_{};
  int64_t next_ = 0;  // the next block's offset
  int64_t end_ = 0;   // blocks starting before it are the split's
  int64_t file_size_ = 0;
  std::string block_;
  absl::Status status_;
  int64_t bytes_read_ = 0;
  int64_t read_nanos_ = 0;
};

}  // namespace kiln::runtime
