#pragma once
// The compression of text files: gzip (zlib) and zstd streams, read and written a
// buffer at a time. An input file's compression comes from its name, as in Hadoop and
// Spark: ".gz" is gzip, ".zst" is zstd, anything else is plain text. A compressed file
// cannot be split (one split, one task, per file). Not thread-safe: one per stream.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln {

// save_as_text_file's compression of its part files.
enum class TextCompression { kNone, kGzip, kZstd };

}  // namespace kiln

namespace kiln::runtime {

// By the file's name: kGzip for "*.gz", kZstd for "*.zst", else kNone.
TextCompression CompressionOfPath(std::string_view path);
// ".gz", ".zst", or "" for kNone.
const char* CompressionExtension(TextCompression compression);

class Decompressor {
 public:
  // Decompresses `path`'s stream (the path names the file in errors). kNone is an error.
  static absl::StatusOr<std::unique_ptr<Decompressor>> Make(TextCompression compression,
                                                            std::string path);
  virtual ~Decompressor() = default;
  // Decompresses from `*in` (advanced past what was consumed) into out[0, capacity);
  // returns the bytes written: 0 only when `*in` is used up and nothing is held inside
  // (a call that fills `out` may hold more, which the next call gives, even with empty
  // `*in`). A stream may hold several members or frames, one after the other (as
  // `cat a.gz b.gz` makes).
  virtual absl::StatusOr<size_t> Decompress(std::string_view* in, char* out, size_t capacity) = 0;
  // At the end of the file: an error if the stream stopped inside a member or frame.
  virtual absl::Status Finish() = 0;
};

// The decompressed bytes of a compressed file, read from byte 0 through `fd` (not
// owned) a chunk at a time and fed through a Decompressor of the file's compression.
class DecompressedFile {
 public:
  // `file_bytes` and `read_nanos` count the file's bytes read and the time blocked
  // reading them.
  static absl::StatusOr<std::unique_ptr<DecompressedFile>> Open(int fd, std::string path,
                                                                TextCompression compression,
                                                                int64_t* file_bytes,
                                                                int64_t* read_nanos);
  // Up to `capacity` more bytes into `out`; 0 at the end of the stream, which is then
  // checked to end whole (Decompressor::Finish).
  absl::StatusOr<size_t> Read(char* out, size_t capacity);

 private:
  DecompressedFile(int fd, std::string path, std::unique_ptr<Decompressor> decompressor,
                   int64_t* file_bytes, int64_t* read_nanos);

  int fd_;
  std::string path_;
  std::unique_ptr<Decompressor> decompressor_;
  int64_t* file_bytes_;
  int64_t* read_nanos_;
  std::string raw_;            // the file's bytes read
  std::string_view raw_left_;  // the part of raw_ not decompressed yet
  uint64_t offset_ = 0;        // where the next read starts
};

class Compressor {
 public:
  // Compresses into `path` (named in errors) at the codec's default level. kNone is an error.
  static absl::StatusOr<std::unique_ptr<Compressor>> Make(TextCompression compression,
                                                          std::string path);
  virtual ~Compressor() = default;
  // Appends the compressed form of `in` (or part of it, the rest held back) to `*out`.
  virtual absl::Status Compress(std::string_view in, std::string* out) = 0;
  // Ends the stream: appends what was held back and the stream's trailer.
  virtual absl::Status Finish(std::string* out) = 0;
};

}  // namespace kiln::runtime
