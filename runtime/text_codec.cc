#include "runtime/text_codec.h"

#include <zlib.h>
#include <zstd.h>

#include <utility>

#include "common/clock.h"
#include "common/files.h"
#include "common/strings.h"

namespace kiln::runtime {
namespace {

// gzip through zlib: windowBits 15 + 16 reads and writes the gzip wrapper.
constexpr int kGzipWindowBits = 15 + 16;

class GzipDecompressor final : public Decompressor {
 public:
  explicit GzipDecompressor(std::string path) : path_(std::move(path)) {}
  ~GzipDecompressor() override {
    if (open_) inflateEnd(&z_);
  }
  absl::Status Init() {
    if (inflateInit2(&z_, kGzipWindowBits) != Z_OK) return Error("cannot start zlib");
    open_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<size_t> Decompress(std::string_view* in, char* out, size_t capacity) override {
    size_t produced = 0;
    // A full output buffer may have left decompressed bytes inside zlib: they come out
    // even with no more input.
    while (produced < capacity && (!in->empty() || pending_)) {
      if (ended_) {  // another member follows
        if (inflateReset(&z_) != Z_OK) return Error("cannot restart zlib");
        ended_ = false;
      }
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in->data()));
      z_.avail_in = static_cast<uInt>(std::min<size_t>(in->size(), 1u << 30));
      z_.next_out = reinterpret_cast<Bytef*>(out + produced);
      z_.avail_out = static_cast<uInt>(std::min<size_t>(capacity - produced, 1u << 30));
      const uInt before_in = z_.avail_in, before_out = z_.avail_out;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      in->remove_prefix(before_in - z_.avail_in);
      produced += before_out - z_.avail_out;
      pending_ = z_.avail_out == 0;
      if (rc == Z_STREAM_END) {
        ended_ = true;
        pending_ = false;
      } else if (rc == Z_BUF_ERROR) {
        pending_ = false;
        break;  // needs more input or more room
      } else if (rc != Z_OK) {
        return Error(z_.msg != nullptr ? z_.msg : "corrupt data");
      }
    }
    started_ = true;
    return produced;
  }
  absl::Status Finish() override {
    if (started_ && !ended_) return Error("the stream ends inside a gzip member (truncated?)");
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* what) const {
    return absl::DataLossError(StrCat("input file ", path_, " (gzip): ", what));
  }

  std::string path_;
  z_stream z_{};
  bool open_ = false;
  bool started_ = false;
  bool ended_ = false;    // at the end of a member
  bool pending_ = false;  // the last call filled the output: more may be inside
};

class ZstdDecompressor final : public Decompressor {
 public:
  explicit ZstdDecompressor(std::string path) : path_(std::move(path)), d_(ZSTD_createDStream()) {}
  ~ZstdDecompressor() override { ZSTD_freeDStream(d_); }
  absl::StatusOr<size_t> Decompress(std::string_view* in, char* out, size_t capacity) override {
    if (d_ == nullptr) return Error("cannot start zstd");
    ZSTD_inBuffer input{in->data(), in->size(), 0};
    ZSTD_outBuffer output{out, capacity, 0};
    // A full output buffer may have left decompressed bytes inside zstd: they come out
    // even with no more input.
    while (output.pos < output.size && (input.pos < input.size || pending_)) {
      const size_t before = output.pos, before_in = input.pos;
      const size_t rc = ZSTD_decompressStream(d_, &output, &input);
      if (ZSTD_isError(rc)) return Error(ZSTD_getErrorName(rc));
      pending_ = output.pos == output.size;
      if (input.pos == before_in && output.pos == before) break;  // nothing more inside
      // 0: a frame ended, all of it given out. (A call that does nothing between frames
      // returns the next header's size: only calls that did something tell.)
      in_frame_ = rc != 0;
    }
    in->remove_prefix(input.pos);
    return output.pos;
  }
  absl::Status Finish() override {
    if (in_frame_) return Error("the stream ends inside a zstd frame (truncated?)");
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* what) const {
    return absl::DataLossError(StrCat("input file ", path_, " (zstd): ", what));
  }

  std::string path_;
  ZSTD_DStream* d_;
  bool in_frame_ = false;
  bool pending_ = false;  // the last call filled the output: more may be inside
};

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(std::string path) : path_(std::move(path)) {}
  ~GzipCompressor() override {
    if (open_) deflateEnd(&z_);
  }
  absl::Status Init() {
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError(StrCat("output file ", path_, ": cannot start zlib"));
    }
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Compress(std::string_view in, std::string* out) override {
    return Run(in, Z_NO_FLUSH, out);
  }
  absl::Status Finish(std::string* out) override { return Run({}, Z_FINISH, out); }

 private:
  absl::Status Run(std::string_view in, int flush, std::string* out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      const size_t at = out->size();
      const size_t room = std::max<size_t>(deflateBound(&z_, z_.avail_in), 64 << 10);
      out->resize(at + room);
      z_.next_out = reinterpret_cast<Bytef*>(out->data() + at);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&z_, flush);
      out->resize(at + room - z_.avail_out);
      if (rc == Z_STREAM_ERROR) {
        return absl::InternalError(StrCat("output file ", path_, ": zlib failed"));
      }
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0 && z_.avail_out > 0) {
        return absl::OkStatus();
      }
    }
  }

  std::string path_;
  z_stream z_{};
  bool open_ = false;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(std::string path) : path_(std::move(path)), c_(ZSTD_createCCtx()) {}
  ~ZstdCompressor() override { ZSTD_freeCCtx(c_); }
  absl::Status Compress(std::string_view in, std::string* out) override {
    return Run(in, ZSTD_e_continue, out);
  }
  absl::Status Finish(std::string* out) override { return Run({}, ZSTD_e_end, out); }

 private:
  absl::Status Run(std::string_view in, ZSTD_EndDirective mode, std::string* out) {
    if (c_ == nullptr) return absl::InternalError(StrCat("output file ", path_, ": no zstd"));
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      const size_t at = out->size();
      const size_t room = ZSTD_CStreamOutSize();
      out->resize(at + room);
      ZSTD_outBuffer output{out->data() + at, room, 0};
      const size_t rc = ZSTD_compressStream2(c_, &output, &input, mode);
      out->resize(at + output.pos);
      if (ZSTD_isError(rc)) {
        return absl::InternalError(
            StrCat("output file ", path_, " (zstd): ", ZSTD_getErrorName(rc)));
      }
      const bool done = mode == ZSTD_e_end ? rc == 0 : input.pos == input.size;
      if (done) return absl::OkStatus();
    }
  }

  std::string path_;
  ZSTD_CCtx* c_;
};

}  // namespace

TextCompression CompressionOfPath(std::string_view path) {
  if (path.ends_with(".gz")) return TextCompression::kGzip;
  if (path.ends_with(".zst")) return TextCompression::kZstd;
  return TextCompression::kNone;
}

const char* CompressionExtension(TextCompression compression) {
  switch (compression) {
    case TextCompression::kGzip:
      return ".gz";
    case TextCompression::kZstd:
      return ".zst";
    case TextCompression::kNone:
      break;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Decompressor>> Decompressor::Make(TextCompression compression,
                                                                 std::string path) {
  if (compression == TextCompression::kGzip) {
    auto d = std::make_unique<GzipDecompressor>(std::move(path));
    if (absl::Status s = d->Init(); !s.ok()) return s;
    return std::unique_ptr<Decompressor>(std::move(d));
  }
  if (compression == TextCompression::kZstd) {
    return std::unique_ptr<Decompressor>(std::make_unique<ZstdDecompressor>(std::move(path)));
  }
  return absl::InvalidArgumentError(StrCat("input file ", path, " is not compressed"));
}

absl::StatusOr<std::unique_ptr<DecompressedFile>> DecompressedFile::Open(
    int fd, std::string path, TextCompression compression, int64_t* file_bytes,
    int64_t* read_nanos) {
  absl::StatusOr<std::unique_ptr<Decompressor>> d = Decompressor::Make(compression, path);
  if (!d.ok()) return d.status();
  return std::unique_ptr<DecompressedFile>(
      new DecompressedFile(fd, std::move(path), *std::move(d), file_bytes, read_nanos));
}

DecompressedFile::DecompressedFile(int fd, std::string path,
                                   std::unique_ptr<Decompressor> decompressor, int64_t* file_bytes,
                                   int64_t* read_nanos)
    : fd_(fd),
      path_(std::move(path)),
      decompressor_(std::move(decompressor)),
      file_bytes_(file_bytes),
      read_nanos_(read_nanos) {}

absl::StatusOr<size_t> DecompressedFile::Read(char* out, size_t capacity) {
  constexpr size_t kChunkBytes = 256 << 10;
  for (;;) {
    // First what the bytes read so far still give (also when all were consumed: the
    // decompressor may hold more), then more of the file.
    absl::StatusOr<size_t> got = decompressor_->Decompress(&raw_left_, out, capacity);
    if (!got.ok() || *got > 0) return got;
    if (raw_.size() < kChunkBytes) raw_.resize(kChunkBytes);
    absl::StatusOr<size_t> n;
    {
      ScopedNanos reading(read_nanos_);
      n = ReadAt(fd_, offset_, raw_.data(), raw_.size(), path_);
    }
    if (!n.ok()) return n.status();
    if (*n == 0) {
      absl::Status whole = decompressor_->Finish();
      if (!whole.ok()) return whole;
      return size_t{0};
    }
    offset_ += *n;
    *file_bytes_ += static_cast<int64_t>(*n);
    raw_left_ = std::string_view(raw_.data(), *n);
  }
}

absl::StatusOr<std::unique_ptr<Compressor>> Compressor::Make(TextCompression compression,
                                                             std::string path) {
  if (compression == TextCompression::kGzip) {
    auto c = std::make_unique<GzipCompressor>(std::move(path));
    if (absl::Status s = c->Init(); !s.ok()) return s;
    return std::unique_ptr<Compressor>(std::move(c));
  }
  if (compression == TextCompression::kZstd) {
    return std::unique_ptr<Compressor>(std::make_unique<ZstdCompressor>(std::move(path)));
  }
  return absl::InvalidArgumentError(StrCat("output file ", path, ": no compression chosen"));
}

}  // namespace kiln::runtime
