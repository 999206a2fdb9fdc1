#include "runtime/block_format.h"

#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {
namespace {

constexpr int kZstdLevel = 1;  // Spark's default: fast, still a good ratio

// The frame checksum: the low 32 bits of XXH3-64, several times faster than XXH32 on
// any CPU with SSE2, and computed on every shuffle byte written and read.
uint32_t FrameChecksum(const char* data, size_t size) {
  return static_cast<uint32_t>(XXH3_64bits(data, size));
}

void PutU32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }  // little-endian hosts
uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Header {
  uint8_t codec;
  uint32_t raw_len;
  uint32_t stored_len;
  uint32_t checksum;
};

Header ReadHeader(const char* p) {
  return Header{static_cast<uint8_t>(p[0]), GetU32(p + 1), GetU32(p + 5), GetU32(p + 9)};
}

void WriteHeader(char* p, Compression codec, uint32_t raw_len, uint32_t stored_len,
                 uint32_t checksum) {
  p[0] = static_cast<char>(codec);
  PutU32(p + 1, raw_len);
  PutU32(p + 5, stored_len);
  PutU32(p + 9, checksum);
}

// Appends `raw` as an uncompressed frame.
void AppendStored(std::string_view raw, std::string* out) {
  size_t old = out->size();
  out->resize(old + kFrameHeaderBytes);
  uint32_t len = static_cast<uint32_t>(raw.size());
  WriteHeader(out->data() + old, Compression::kNone, len, len,
              FrameChecksum(raw.data(), raw.size()));
  out->append(raw.data(), raw.size());
}

}  // namespace

absl::StatusOr<Compression> ParseCompression(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "lz4") return Compression::kLz4;
  if (name == "zstd") return Compression::kZstd;
  return absl::InvalidArgumentError(
      StrCat("kiln.io.compression.codec='", name, "' is not a known codec; use lz4, zstd or none"));
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

FrameEncoder::FrameEncoder(Compression compression) : compression_(compression) {}

FrameEncoder::~FrameEncoder() {
  if (zstd_ != nullptr) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
}

size_t FrameEncoder::MaxFrameBytes(size_t raw_bytes) const {
  size_t bound = raw_bytes;
  if (compression_ == Compression::kLz4 && raw_bytes <= static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    bound = static_cast<size_t>(LZ4_compressBound(static_cast<int>(raw_bytes)));
  } else if (compression_ == Compression::kZstd) {
    bound = ZSTD_compressBound(raw_bytes);
  }
  return kFrameHeaderBytes + std::max(bound, raw_bytes);
}

void FrameEncoder::Append(std::string_view raw, std::string* out) {
  if (compression_ == Compression::kNone || raw.empty() ||
      raw.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    AppendStored(raw, out);
    return;
  }
  if (skip_ > 0) {
    --skip_;
    AppendStored(raw, out);
    return;
  }
  size_t old = out->size();
  size_t bound = MaxFrameBytes(raw.size()) - kFrameHeaderBytes;
  out->resize(old + kFrameHeaderBytes + bound);
  char* dst = out->data() + old + kFrameHeaderBytes;
  size_t stored = 0;
  if (compression_ == Compression::kLz4) {
    int n = LZ4_compress_default(raw.data(), dst, static_cast<int>(raw.size()),
                                 static_cast<int>(bound));
    stored = n > 0 ? static_cast<size_t>(n) : 0;
  } else {
    if (zstd_ == nullptr) zstd_ = ZSTD_createCCtx();
    size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_), dst, bound, raw.data(), raw.size(),
                                 kZstdLevel);
    stored = ZSTD_isError(n) ? 0 : n;
  }
  if (stored == 0 || stored > raw.size() - raw.size() / 8) skip_ = kPoorFramesSkipped;
  if (stored == 0 || stored >= raw.size()) {  // incompressible: store it as is
    out->resize(old);
    AppendStored(raw, out);
    return;
  }
  WriteHeader(out->data() + old, compression_, static_cast<uint32_t>(raw.size()),
              static_cast<uint32_t>(stored), FrameChecksum(dst, stored));
  out->resize(old + kFrameHeaderBytes + stored);
}

void AppendFrame(Compression compression, std::string_view raw, std::string* out) {
  FrameEncoder encoder(compression);
  encoder.Append(raw, out);
}

FrameDecoder::FrameDecoder(std::string label) : label_(std::move(label)) {}

FrameDecoder::~FrameDecoder() {
  if (zstd_ != nullptr) ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(zstd_));
}

void FrameDecoder::Reset(std::string label) {
  label_ = std::move(label);
  pending_.clear();
  frames_ = stored_bytes_ = raw_bytes_ = 0;
}

absl::Status FrameDecoder::Corrupt(std::string_view why) const {
  if (label_.empty()) return absl::DataLossError(StrCat("corrupt shuffle block: ", why));
  return absl::DataLossError(StrCat("corrupt shuffle block (", label_, "): ", why));
}

absl::Status FrameDecoder::Feed(std::string_view chunk, FrameCallback on_frame) {
  const char* p = chunk.data();
  size_t n = chunk.size();
  if (!pending_.empty()) {
    if (pending_.size() < kFrameHeaderBytes) {
      size_t take = std::min(n, kFrameHeaderBytes - pending_.size());
      pending_.append(p, take);
      p += take;
      n -= take;
      if (pending_.size() < kFrameHeaderBytes) return absl::OkStatus();
      if (static_cast<uint8_t>(pending_[0]) > 2) {
        return Corrupt(StrCat("unknown codec in frame ", frames_));
      }
    }
    size_t total = kFrameHeaderBytes + ReadHeader(pending_.data()).stored_len;
    size_t take = std::min(n, total - pending_.size());
    pending_.append(p, take);
    p += take;
    n -= take;
    if (pending_.size() < total) return absl::OkStatus();
    RETURN_IF_ERROR(DecodeFrame(pending_.data(), total, on_frame));
    pending_.clear();
  }
  while (n >= kFrameHeaderBytes) {
    size_t total = kFrameHeaderBytes + ReadHeader(p).stored_len;
    if (n < total) break;
    RETURN_IF_ERROR(DecodeFrame(p, total, on_frame));
    p += total;
    n -= total;
  }
  if (n > 0) {
    if (n >= kFrameHeaderBytes && static_cast<uint8_t>(p[0]) > 2) {
      return Corrupt(StrCat("unknown codec in frame ", frames_));
    }
    pending_.append(p, n);
  }
  return absl::OkStatus();
}

absl::Status FrameDecoder::Finish() const {
  if (!pending_.empty()) {
    return Corrupt(StrCat("truncated after ", stored_bytes_, " bytes (", pending_.size(),
                          " bytes of an incomplete frame)"));
  }
  return absl::OkStatus();
}

absl::Status FrameDecoder::DecodeFrame(const char* frame, size_t size, FrameCallback on_frame) {
  Header h = ReadHeader(frame);
  const char* stored = frame + kFrameHeaderBytes;
  if (FrameChecksum(stored, h.stored_len) != h.checksum) {
    return Corrupt(StrCat("checksum mismatch in frame ", frames_, " at byte ", stored_bytes_));
  }
  std::string_view raw;
  switch (h.codec) {
    case static_cast<uint8_t>(Compression::kNone):
      if (h.raw_len != h.stored_len) return Corrupt(StrCat("bad length in frame ", frames_));
      raw = std::string_view(stored, h.stored_len);
      break;
    case static_cast<uint8_t>(Compression::kLz4): {
      if (scratch_.size() < h.raw_len) scratch_.resize(h.raw_len);
      int got = LZ4_decompress_safe(stored, scratch_.data(), static_cast<int>(h.stored_len),
                                    static_cast<int>(h.raw_len));
      if (got < 0 || static_cast<uint32_t>(got) != h.raw_len) {
        return Corrupt(StrCat("lz4 frame ", frames_, " does not decompress"));
      }
      raw = std::string_view(scratch_.data(), h.raw_len);
      break;
    }
    case static_cast<uint8_t>(Compression::kZstd): {
      if (scratch_.size() < h.raw_len) scratch_.resize(h.raw_len);
      if (zstd_ == nullptr) zstd_ = ZSTD_createDCtx();
      size_t got = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(zstd_), scratch_.data(), h.raw_len,
                                       stored, h.stored_len);
      if (ZSTD_isError(got) || got != h.raw_len) {
        return Corrupt(StrCat("zstd frame ", frames_, " does not decompress"));
      }
      raw = std::string_view(scratch_.data(), h.raw_len);
      break;
    }
    default:
      return Corrupt(StrCat("unknown codec in frame ", frames_));
  }
  ++frames_;
  stored_bytes_ += static_cast<int64_t>(size);
  raw_bytes_ += h.raw_len;
  return on_frame(raw);
}

absl::Status DecodeBlock(std::string_view block, std::string label, FrameCallback on_frame) {
  FrameDecoder decoder(std::move(label));
  RETURN_IF_ERROR(decoder.Feed(block, on_frame));
  return decoder.Finish();
}

}  // namespace kiln::runtime
