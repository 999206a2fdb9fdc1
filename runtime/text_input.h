#pragma once
// Text input: byte-range splits of files, and the lines of one split.
//
// A line belongs to the split in which it starts (Hadoop's LineRecordReader rule), so
// no line is lost or read twice at a split boundary: a split that does not start at
// byte 0 skips the text up to and including the first '\n' at or after byte start-1,
// and every split reads past its end to finish the last line that starts inside it.
// Lines end at '\n'; a '\r' before the '\n' is dropped; a last line without a final
// newline is still a line; empty lines are kept.
//
// A file compressed as its name says (".gz", ".zst": see text_codec.h) is one split,
// read whole through its decompressor.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/files.h"
#include "runtime/text_codec.h"

namespace kiln::runtime {

struct FileSplit {
  std::string path;
  int64_t start = 0;
  int64_t length = 0;
  int64_t file_size = 0;
};

// The splits of a file, or of the files of a directory (not recursive; sorted by name;
// names starting with '.' or '_' are skipped, as are subdirectories). Each file is cut
// into ranges of at most `max_partition_bytes` (kiln.files.maxPartitionBytes), but a
// compressed one, which is one split; an empty file has no split. A missing path is NotFound
// ("input path does not exist: <path>").
absl::StatusOr<std::vector<FileSplit>> ComputeSplits(const std::string& path_or_dir,
                                                     int64_t max_partition_bytes);

// A split as a source's task split carries it.
std::string EncodeFileSplit(const FileSplit& split);
bool DecodeFileSplit(std::string_view encoded, FileSplit* split);

// The files ComputeSplits reads (empty ones too), with their sizes, in name order.
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ListInputFiles(
    const std::string& path_or_dir);
// whole_text_files' partitions: the files, in order, cut into runs of at most
// `max_group_bytes` (a larger file alone).
std::vector<std::vector<std::string>> GroupFiles(
    const std::vector<std::pair<std::string, int64_t>>& files, int64_t max_group_bytes);
// A whole file's text, decompressed as its name says; adds the bytes read from the file
// to `*file_bytes` and the time blocked reading them to `*read_nanos`.
absl::StatusOr<std::string> ReadWholeText(const std::string& path, int64_t* file_bytes,
                                          int64_t* read_nanos);

// Reads the lines of one split with pread in large blocks into a buffer it reuses (across
// splits too, through Open). Not thread-safe.
//
//   LineReader reader;
//   RETURN_IF_ERROR(reader.Open(split));
//   std::string_view line;
//   while (reader.Next(&line)) Use(line);
//   RETURN_IF_ERROR(reader.status());
class LineReader {
 public:
  explicit LineReader(int64_t buffer_bytes = 1 << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  absl::Status Open(const FileSplit& split);

  // The next line, without its line terminator, valid until the next call. False at
  // the end of the split or on a read error (then status() says which).
  bool Next(std::string_view* line);

  const absl::Status& status() const { return status_; }
  int64_t bytes_read() const { return bytes_read_; }  // bytes read from the file
  int64_t read_nanos() const { return read_nanos_; }  // time blocked reading them
  int64_t lines() const { return lines_; }

 private:
  // Reads more of the file after the unconsumed bytes; false at end of file or error.
  bool Fill();
  // Makes `pos_` point at the first line that starts at or after `start`.
  bool SkipPartialLine();
  void Close();

  std::string buffer_;
  size_t min_capacity_;
  ScopedFd fd_;
  std::string path_;
  int64_t end_ = 0;         // the split's end offset
  int64_t buf_offset_ = 0;  // file offset of buffer_[0]
  size_t pos_ = 0;          // start of the unconsumed bytes in buffer_
  size_t limit_ = 0;        // end of the valid bytes in buffer_
  bool eof_ = false;
  bool done_ = true;
  absl::Status status_;
  int64_t bytes_read_ = 0;
  int64_t read_nanos_ = 0;
  int64_t lines_ = 0;
  std::unique_ptr<DecompressedFile> decompressed_;  // a compressed file's text
};

}  // namespace kiln::runtime
