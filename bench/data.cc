// bench_data: seeded inputs for the benchmarks and the checks of their outputs.
//
//   bench_data text BYTES SEED OUT      Zipf-distributed words (s = 1, 1M-word vocabulary),
//                                       lowercase, single spaces, 8-16 words a line
//   bench_data records BYTES SEED OUT   100-byte lines: a 10-byte key of printable ASCII
//                                       (no space), 89 payload bytes, '\n'
//   bench_data check-words DIR          prints "lines=N total=T checksum=X" of a word count
//                                       output ("word\tcount" lines, any order, any files)
//   bench_data check-sort INPUT DIR     checks that DIR's files, in the order of the numbers
//                                       in their names, hold INPUT's lines sorted by key;
//                                       prints "lines=N checksum=X" or fails
//
// Checksums are order-independent: the sum of XXH64 of every line (without '\n').
// Same BYTES and SEED give the same bytes on every machine.

#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_data: %s\n", message.c_str());
  std::exit(1);
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t ParseCount(const char* text, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') Die(std::string("bad ") + what + ": " + text);
  return v;
}

// Buffered output to a new file.
class Out {
 public:
  explicit Out(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) Die("cannot create " + path + ": " + std::strerror(errno));
    buffer_.reserve(kChunk + 4096);
  }
  ~Out() {
    Flush();
    if (std::fclose(file_) != 0) Die("cannot write " + path_);
  }
  void Append(std::string_view s) {
    buffer_.append(s);
    written_ += s.size();
    if (buffer_.size() >= kChunk) Flush();
  }
  void Append(char c) {
    buffer_.push_back(c);
    ++written_;
  }
  uint64_t written() const { return written_; }

 private:
  static constexpr size_t kChunk = 1 << 22;
  void Flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      Die("cannot write " + path_ + ": " + std::strerror(errno));
    }
    buffer_.clear();
  }
  std::string path_;
  FILE* file_;
  std::string buffer_;
  uint64_t written_ = 0;
};

void GenerateText(uint64_t bytes, uint64_t seed, const std::string& path) {
  constexpr size_t kVocabulary = 1'000'000;
  // Words by rank: 2-10 letters drawn from a hash of the rank (a few collide; every
  // system sees the same text, so that only shifts counts).
  std::vector<std::string> words(kVocabulary);
  for (size_t r = 0; r < kVocabulary; ++r) {
    uint64_t state = r * 0x2545F4914F6CDD1DULL + 12345;
    uint64_t h = SplitMix64(state);
    size_t length = 2 + h % 9;
    for (size_t i = 0; i < length; ++i) words[r].push_back(static_cast<char>('a' + ((h >> (8 + 5 * i)) & 31) % 26));
  }
  // Zipf(s = 1): cumulative weights 1/(r+1), sampled by binary search.
  std::vector<double> cumulative(kVocabulary);
  double total = 0;
  for (size_t r = 0; r < kVocabulary; ++r) cumulative[r] = (total += 1.0 / static_cast<double>(r + 1));
  uint64_t state = seed;
  Out out(path);
  while (out.written() < bytes) {
    int n = 8 + static_cast<int>(SplitMix64(state) % 9);
    for (int i = 0; i < n; ++i) {
      double u = static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53 * total;
      size_t r = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
      if (r >= kVocabulary) r = kVocabulary - 1;
      if (i > 0) out.Append(' ');
      out.Append(words[r]);
    }
    out.Append('\n');
  }
}

void GenerateRecords(uint64_t bytes, uint64_t seed, const std::string& path) {
  uint64_t state = seed;
  Out out(path);
  char line[100];
  for (uint64_t i = 0; out.written() < bytes; ++i) {
    for (int k = 0; k < 10; ++k) line[k] = static_cast<char>(0x21 + SplitMix64(state) % 94);
    std::snprintf(line + 10, 17, "%016llx", static_cast<unsigned long long>(i));
    uint64_t fill = SplitMix64(state);
    for (int k = 26; k < 99; ++k) line[k] = static_cast<char>('A' + (fill + static_cast<uint64_t>(k) * 7) % 26);
    line[99] = '\n';
    out.Append(std::string_view(line, 100));
  }
}

// Calls f(line) for every line of `path` (without '\n').
void ForEachLine(const std::string& path, const std::function<void(std::string_view)>& f) {
  FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) Die("cannot open " + path + ": " + std::strerror(errno));
  std::vector<char> buffer(1 << 22);
  size_t kept = 0;
  while (true) {
    size_t got = std::fread(buffer.data() + kept, 1, buffer.size() - kept, in);
    size_t end = kept + got;
    size_t start = 0;
    for (size_t i = kept; i < end; ++i) {
      if (buffer[i] == '\n') {
        f(std::string_view(buffer.data() + start, i - start));
        start = i + 1;
      }
    }
    kept = end - start;
    if (got == 0) {
      if (kept > 0) f(std::string_view(buffer.data() + start, kept));
      break;
    }
    std::memmove(buffer.data(), buffer.data() + start, kept);
    if (kept == buffer.size()) buffer.resize(buffer.size() * 2);
  }
  std::fclose(in);
}

// The data files of an output directory, in the order of the first number in each name
// (part-00002 before part-00010; Dask's 2.part before 10.part).
std::vector<std::string> OutputFiles(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) Die("not a directory: " + dir);
  std::vector<std::pair<uint64_t, std::string>> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.' || name[0] == '_') continue;
    if (name.ends_with(".crc")) continue;
    uint64_t number = 0;
    size_t i = name.find_first_of("0123456789");
    for (; i != std::string::npos && i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
      number = number * 10 + static_cast<uint64_t>(name[i] - '0');
    }
    files.emplace_back(number, entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> paths;
  for (auto& f : files) paths.push_back(std::move(f.second));
  return paths;
}

int CheckWords(const std::string& dir) {
  uint64_t lines = 0, total = 0, checksum = 0;
  for (const std::string& file : OutputFiles(dir)) {
    ForEachLine(file, [&](std::string_view line) {
      size_t tab = line.rfind('\t');
      if (tab == std::string_view::npos) Die("no tab in a line of " + file + ": " + std::string(line));
      uint64_t count = 0;
      for (char c : line.substr(tab + 1)) {
        if (c < '0' || c > '9') Die("bad count in a line of " + file + ": " + std::string(line));
        count = count * 10 + static_cast<uint64_t>(c - '0');
      }
      ++lines;
      total += count;
      checksum += XXH64(line.data(), line.size(), 0);
    });
  }
  std::printf("lines=%llu total=%llu checksum=%016llx\n", static_cast<unsigned long long>(lines),
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(checksum));
  return 0;
}

int CheckSort(const std::string& input, const std::string& dir) {
  uint64_t in_lines = 0, in_sum = 0;
  ForEachLine(input, [&](std::string_view line) {
    ++in_lines;
    in_sum += XXH64(line.data(), line.size(), 0);
  });
  uint64_t lines = 0, sum = 0;
  std::string previous;
  for (const std::string& file : OutputFiles(dir)) {
    ForEachLine(file, [&](std::string_view line) {
      std::string_view key = line.substr(0, 10);
      if (lines > 0 && key < std::string_view(previous)) {
        Die("out of order: line " + std::to_string(lines + 1) + " (in " + file + ") has key " +
            std::string(key) + " after " + previous);
      }
      previous.assign(key);
      ++lines;
      sum += XXH64(line.data(), line.size(), 0);
    });
  }
  if (lines != in_lines || sum != in_sum) {
    Die("output of " + dir + " is not a permutation of " + input + " (" + std::to_string(lines) +
        " lines vs " + std::to_string(in_lines) + ")");
  }
  std::printf("lines=%llu checksum=%016llx\n", static_cast<unsigned long long>(lines),
              static_cast<unsigned long long>(sum));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 4 && args[0] == "text") {
    GenerateText(ParseCount(argv[2], "BYTES"), ParseCount(argv[3], "SEED"), args[3]);
    return 0;
  }
  if (args.size() == 4 && args[0] == "records") {
    GenerateRecords(ParseCount(argv[2], "BYTES"), ParseCount(argv[3], "SEED"), args[3]);
    return 0;
  }
  if (args.size() == 2 && args[0] == "check-words") return CheckWords(args[1]);
  if (args.size() == 3 && args[0] == "check-sort") return CheckSort(args[1], args[2]);
  std::fprintf(stderr,
               "usage: bench_data text BYTES SEED OUT | records BYTES SEED OUT |\n"
               "       check-words DIR | check-sort INPUT DIR\n");
  return 2;
}
