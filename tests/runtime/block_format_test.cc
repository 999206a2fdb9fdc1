#include "runtime/block_format.h"

#include <random>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

// Frames of assorted sizes and contents: empty, tiny, repetitive, random, large.
std::vector<std::string> SampleFrames(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> frames = {"", "x", "hello world"};
  std::string text;
  for (int i = 0; i < 5000; ++i) StrAppend(&text, "word", i % 37, " ");
  frames.push_back(text);
  std::string noise(70000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  frames.push_back(noise);
  for (int i = 0; i < 20; ++i) {
    std::string f(rng() % 3000, 'a');
    for (size_t j = 0; j < f.size(); j += 7) f[j] = static_cast<char>('a' + rng() % 26);
    frames.push_back(f);
  }
  return frames;
}

std::string EncodeBlock(Compression codec, const std::vector<std::string>& frames) {
  std::string block;
  FrameEncoder encoder(codec);
  for (const std::string& f : frames) encoder.Append(f, &block);
  return block;
}

// Feeds `block` in pieces whose sizes come from `next_size` and collects the frames.
template <class NextSize>
absl::Status DecodeInChunks(const std::string& block, NextSize next_size,
                            std::vector<std::string>* out) {
  FrameDecoder decoder("shuffle 1 map 2 reduce 3");
  auto collect = [&](std::string_view frame) {
    out->emplace_back(frame);
    return absl::OkStatus();
  };
  size_t pos = 0;
  while (pos < block.size()) {
    size_t n = std::min(block.size() - pos, next_size());
    absl::Status s = decoder.Feed(std::string_view(block).substr(pos, n), collect);
    if (!s.ok()) return s;
    pos += n;
  }
  return decoder.Finish();
}

const Compression kAllCodecs[] = {Compression::kNone, Compression::kLz4, Compression::kZstd};

TEST_CASE("block_format: ParseCompression names the setting on a bad codec") {
  CHECK(*ParseCompression("none") == Compression::kNone);
  CHECK(*ParseCompression("lz4") == Compression::kLz4);
  CHECK(*ParseCompression("zstd") == Compression::kZstd);
  auto bad = ParseCompression("snappy");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(View(bad.status().message()).find("kiln.io.compression.codec") != std::string::npos);
  for (Compression c : kAllCodecs) CHECK(*ParseCompression(CompressionName(c)) == c);
}

TEST_CASE("block_format: frames round trip for every codec and chunking") {
  const std::vector<std::string> frames = SampleFrames(7);
  for (Compression codec : kAllCodecs) {
    INFO("codec " << CompressionName(codec));
    const std::string block = EncodeBlock(codec, frames);

    std::vector<std::string> whole;
    REQUIRE(DecodeInChunks(
                block, [] { return size_t{1} << 30; }, &whole)
                .ok());
    CHECK(whole == frames);

    std::vector<std::string> bytewise;
    REQUIRE(DecodeInChunks(
                block, [] { return size_t{1}; }, &bytewise)
                .ok());
    CHECK(bytewise == frames);

    std::mt19937 rng(static_cast<uint32_t>(codec) + 11);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<std::string> random;
      REQUIRE(DecodeInChunks(
                  block, [&] { return size_t{1} + rng() % 20000; }, &random)
                  .ok());
      CHECK(random == frames);
    }
  }
}

TEST_CASE("block_format: compression shrinks text and stores noise as is") {
  const std::vector<std::string> frames = SampleFrames(3);
  const std::string& text = frames[3];
  const std::string& noise = frames[4];
  for (Compression codec : {Compression::kLz4, Compression::kZstd}) {
    std::string out;
    AppendFrame(codec, text, &out);
    CHECK(out[0] == static_cast<char>(codec));
    CHECK(out.size() < text.size() / 2);
    out.clear();
    AppendFrame(codec, noise, &out);
    CHECK(out[0] == static_cast<char>(Compression::kNone));
    CHECK(out.size() == noise.size() + kFrameHeaderBytes);
  }
}

TEST_CASE("block_format: after a frame that shrinks little, 15 frames skip compression") {
  const std::vector<std::string> frames = SampleFrames(4);
  const std::string& text = frames[3];
  // Shrinks, but by less than 1/8: 56,000 random bytes, then 4,000 of text.
  const std::string poor = frames[4].substr(0, 56000) + text.substr(0, 4000);
  for (Compression codec : {Compression::kLz4, Compression::kZstd}) {
    INFO(CompressionName(codec));
    FrameEncoder encoder(codec);
    auto codec_of_next = [&](const std::string& raw) {
      std::string out;
      encoder.Append(raw, &out);
      return static_cast<Compression>(out[0]);
    };
    CHECK(codec_of_next(text) == codec);
    // Compressed, but by too little: the next 15 frames are stored as they are, even
    // compressible ones.
    CHECK(codec_of_next(poor) == codec);
    for (int i = 0; i < 15; ++i) CHECK(codec_of_next(text) == Compression::kNone);
    // Then compression is tried again, and kept while it pays.
    CHECK(codec_of_next(text) == codec);
    CHECK(codec_of_next(text) == codec);
    // Noise does not shrink at all: the same.
    CHECK(codec_of_next(frames[4]) == Compression::kNone);
    for (int i = 0; i < 15; ++i) CHECK(codec_of_next(text) == Compression::kNone);
    CHECK(codec_of_next(text) == codec);
  }
  // Whatever each frame's codec, the block decodes to its frames.
  std::string block;
  FrameEncoder encoder(Compression::kLz4);
  std::vector<std::string> sent = {text, poor, text, text, frames[4], text};
  for (const std::string& f : sent) encoder.Append(f, &block);
  std::vector<std::string> got;
  REQUIRE(DecodeBlock(block, "poor", [&](std::string_view f) {
            got.emplace_back(f);
            return absl::OkStatus();
          }).ok());
  CHECK(got == sent);
}

TEST_CASE("block_format: corrupt and truncated blocks are DataLoss naming the block") {
  const std::vector<std::string> frames = SampleFrames(5);
  for (Compression codec : kAllCodecs) {
    INFO("codec " << CompressionName(codec));
    const std::string block = EncodeBlock(codec, frames);
    std::mt19937 rng(static_cast<uint32_t>(codec) + 100);
    for (int trial = 0; trial < 50; ++trial) {
      std::string bad = block;
      size_t at = rng() % bad.size();
      bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
      std::vector<std::string> got;
      absl::Status s = DecodeInChunks(
          bad, [&] { return size_t{1} + rng() % 5000; }, &got);
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == absl::StatusCode::kDataLoss);
      CHECK(View(s.message()).find("shuffle 1 map 2 reduce 3") != std::string::npos);
    }
    for (size_t cut : {size_t{1}, size_t{5}, kFrameHeaderBytes + 1, block.size() / 2}) {
      std::vector<std::string> got;
      absl::Status s = DecodeInChunks(
          block.substr(0, block.size() - cut), [] { return size_t{4096}; }, &got);
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == absl::StatusCode::kDataLoss);
      CHECK(View(s.message()).find("truncated") != std::string::npos);
    }
  }
}

TEST_CASE("block_format: a callback error stops decoding and is returned unchanged") {
  const std::string block = EncodeBlock(Compression::kLz4, SampleFrames(9));
  int calls = 0;
  absl::Status s = DecodeBlock(block, "b", [&](std::string_view) {
    return ++calls == 3 ? absl::CancelledError("stop") : absl::OkStatus();
  });
  CHECK(s == absl::CancelledError("stop"));
  CHECK(calls == 3);
  CHECK(DecodeBlock("", "empty", [](std::string_view) { return absl::OkStatus(); }).ok());
}

}  // namespace
}  // namespace kiln::runtime
