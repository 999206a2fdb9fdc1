#pragma once
// Framing of shuffle blocks. A block (one reduce partition of one map output) is a
// sequence of frames; each frame holds whole encoded records (a record never spans two
// frames), about `frame_bytes` (64 KiB) of them before compression:
//
//   [uint8 codec][uint32 raw_len][uint32 stored_len][uint32 checksum][stored]
//
// little-endian, codec 0 = none, 1 = lz4, 2 = zstd. A frame that does not shrink is
// stored uncompressed (codec 0) whatever the configured compression, so readers must
// honour each frame's own codec byte. The checksum is the low 32 bits of XXH3-64 of
// the stored bytes. An empty block has no frames.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln::runtime {

enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

// "none", "lz4" or "zstd" (kiln.io.compression.codec); anything else is an
// InvalidArgument naming the setting.
absl::StatusOr<Compression> ParseCompression(std::string_view name);
std::string_view CompressionName(Compression compression);

inline constexpr size_t kFrameHeaderBytes = 13;
inline constexpr int64_t kDefaultFrameBytes = 64 << 10;

// Compresses frames, reusing its compression state and scratch space across calls.
// Not thread-safe: one per writer.
class FrameEncoder {
 public:
  explicit FrameEncoder(Compression compression);
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;

  // Appends one frame holding `raw` to `*out`. `raw` must not alias `*out`. Appending
  // to a string with MaxFrameBytes(raw.size()) spare capacity does not reallocate it.
  // Compressing data that shrinks little costs more time than its bytes would: after a
  // frame that shrank by less than 1/8, the next kPoorFramesSkipped frames are stored
  // as they are (codec none), then compression is tried again.
  void Append(std::string_view raw, std::string* out);

  // The most bytes Append() may need for `raw_bytes` of input (header included).
  size_t MaxFrameBytes(size_t raw_bytes) const;

  Compression compression() const { return compression_; }

 private:
  static constexpr int kPoorFramesSkipped = 15;

  Compression compression_;
  void* zstd_ = nullptr;  // ZSTD_CCtx*, created on first use
  int skip_ = 0;          // frames still to store uncompressed
};

// One-shot convenience over FrameEncoder (creates compression state per call).
void AppendFrame(Compression compression, std::string_view raw, std::string* out);

using FrameCallback = absl::FunctionRef<absl::Status(std::string_view raw_frame)>;

// Decodes the frames of one block from bytes that may arrive in chunks of any size.
// Each decoded frame is passed to the callback as a view that is valid only during the
// call. Whole frames inside a chunk are decoded in place; only a frame cut by a chunk
// boundary is copied. Not thread-safe; Reset() reuses the buffers for another block.
class FrameDecoder {
 public:
  // `label` names the block in errors, e.g. "shuffle 3 map 7 reduce 2".
  explicit FrameDecoder(std::string label = "");
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  void Reset(std::string label);

  // Feeds the next bytes of the block. Returns DataLoss on a corrupt frame, or the
  // first error the callback returns (after which the decoder must be Reset).
  absl::Status Feed(std::string_view chunk, FrameCallback on_frame);
  // Ends the block: DataLoss if it stopped in the middle of a frame.
  absl::Status Finish() const;

  int64_t frames() const { return frames_; }
  int64_t stored_bytes() const { return stored_bytes_; }  // consumed block bytes
  int64_t raw_bytes() const { return raw_bytes_; }
  const std::string& label() const { return label_; }

 private:
  // Decodes the whole frame at `frame` (header included, `size` bytes).
  absl::Status DecodeFrame(const char* frame, size_t size, FrameCallback on_frame);
  absl::Status Corrupt(std::string_view why) const;

  std::string label_;
  std::string pending_;   // the start of a frame cut by a chunk boundary
  std::string scratch_;   // decompressed frame
  void* zstd_ = nullptr;  // ZSTD_DCtx*, created on first use
  int64_t frames_ = 0;
  int64_t stored_bytes_ = 0;
  int64_t raw_bytes_ = 0;
};

// Decodes a whole block held in memory.
absl::Status DecodeBlock(std::string_view block, std::string label, FrameCallback on_frame);

}  // namespace kiln::runtime
