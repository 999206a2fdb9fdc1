// bench_single_wordcount INPUT OUTDIR: the hand-written single-thread word count that
// Kiln is measured against. Same word rule as examples/wordcount.cc (a word is a maximal
// run of bytes that are not ASCII whitespace, the same table as kiln::Words); writes
// OUTDIR/part-00000 with "word\tcount" lines. Reads in 4 MiB chunks, keys live in an arena, one
// hash map.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "common/words.h"

namespace {

using kiln::IsAsciiSpace;

// Keeps copies of the words; views into it stay valid.
class Arena {
 public:
  std::string_view Copy(std::string_view s) {
    if (used_ + s.size() > kBlock || blocks_.empty()) {
      blocks_.push_back(std::make_unique<char[]>(std::max(kBlock, s.size())));
      used_ = 0;
    }
    char* p = blocks_.back().get() + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return std::string_view(p, s.size());
  }

 private:
  static constexpr size_t kBlock = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0;
};

struct ViewHash {
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>()(absl::string_view(s.data(), s.size()));
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_single_wordcount INPUT OUTDIR\n");
    return 2;
  }
  FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) {
    std::fprintf(stderr, "bench_single_wordcount: cannot open %s: %s\n", argv[1],
                 std::strerror(errno));
    return 1;
  }
  Arena arena;
  absl::flat_hash_map<std::string_view, int64_t, ViewHash> counts;
  std::vector<char> buffer(4 << 20);
  size_t kept = 0;  // bytes of an unfinished word carried to the next chunk
  while (true) {
    size_t got = std::fread(buffer.data() + kept, 1, buffer.size() - kept, in);
    size_t end = kept + got;
    // Without more input, the carried word ends at `end`; otherwise stop before the
    // last (maybe partial) word.
    size_t limit = end;
    if (got > 0) {
      while (limit > 0 && !IsAsciiSpace(buffer[limit - 1])) --limit;
    }
    size_t i = 0;
    while (i < limit) {
      while (i < limit && IsAsciiSpace(buffer[i])) ++i;
      size_t start = i;
      while (i < limit && !IsAsciiSpace(buffer[i])) ++i;
      if (i > start) {
        std::string_view word(buffer.data() + start, i - start);
        auto it = counts.find(word);
        if (it != counts.end()) {
          ++it->second;
        } else {
          counts.emplace(arena.Copy(word), 1);
        }
      }
    }
    if (got == 0) break;
    kept = end - limit;
    std::memmove(buffer.data(), buffer.data() + limit, kept);
    if (kept == buffer.size()) buffer.resize(buffer.size() * 2);
  }
  std::fclose(in);

  std::filesystem::create_directories(argv[2]);
  std::string path = std::string(argv[2]) + "/part-00000";
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "bench_single_wordcount: cannot create %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::string text;
  for (const auto& [word, count] : counts) {
    text.append(word);
    text.push_back('\t');
    text.append(std::to_string(count));
    text.push_back('\n');
    if (text.size() > (1 << 20)) {
      std::fwrite(text.data(), 1, text.size(), out);
      text.clear();
    }
  }
  std::fwrite(text.data(), 1, text.size(), out);
  if (std::fclose(out) != 0) {
    std::fprintf(stderr, "bench_single_wordcount: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}
