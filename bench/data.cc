// bench_data: seeded inputs for the benchmarks and the checks of their outputs.
//
//   bench_data text BYTES SEED OUT [VOCABULARY]
//                                       Zipf-distributed words (s = 1, a 1M-word vocabulary
//                                       by default), lowercase, single spaces, 8-16 words a
//                                       line
//   bench_data records BYTES SEED OUT   100-byte lines: a 10-byte key of printable ASCII
//                                       (no space), 89 payload bytes, '\n'
//   bench_data check-words DIR          prints "lines=N total=T checksum=X" of a word count
//                                       output ("word\tcount" lines, any order, any files)
//   bench_data graph VERTICES EDGES SEED OUT
//                                       a power-law directed graph, one "src dst" line per
//                                       edge (ids in [0, VERTICES)), exactly EDGES lines, no
//                                       duplicate edge, no self loop (see GenerateGraph)
//   bench_data check-sort INPUT DIR     checks that DIR's files, in the order of the numbers
//                                       in their names, hold INPUT's lines sorted by key;
//                                       prints "lines=N checksum=X" or fails
//   bench_data check-ranks DIR          prints "vertices=N sum=S top=v1,...,v10" of a PageRank
//                                       output ("vertex\trank" lines, any order, any files)
//
// Checksums are order-independent: the sum of XXH64 of every line (without '\n').
// Same arguments give the same bytes on every machine: the generators use their own
// PRNG and integer arithmetic or correctly rounded IEEE operations only (+ - * / sqrt).

#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
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
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      Die("cannot write " + path_ + ": " + std::strerror(errno));
    }
    buffer_.clear();
  }
  std::string path_;
  FILE* file_;
  std::string buffer_;
  uint64_t written_ = 0;
};

constexpr size_t kDefaultVocabulary = 1'000'000;

// The word of rank `r`. The default vocabulary: 2-10 letters drawn from a hash of the
// rank (a few collide; every system sees the same text, so that only shifts counts).
// Any other: 3 letters from the hash, then r + 1 in bijective base 26, so that every
// rank has its own word.
void AppendWord(size_t r, size_t vocabulary, std::string& out) {
  uint64_t state = r * 0x2545F4914F6CDD1DULL + 12345;
  const uint64_t h = SplitMix64(state);
  const size_t length = vocabulary == kDefaultVocabulary ? 2 + h % 9 : 3;
  for (size_t i = 0; i < length; ++i) {
    out.push_back(static_cast<char>('a' + ((h >> (8 + 5 * i)) & 31) % 26));
  }
  if (vocabulary == kDefaultVocabulary) return;
  char digits[16];
  size_t n = 0;
  for (uint64_t v = r + 1; v > 0; v = (v - 1) / 26)
    digits[n++] = static_cast<char>('a' + (v - 1) % 26);
  while (n > 0) out.push_back(digits[--n]);
}

void GenerateText(uint64_t bytes, uint64_t seed, size_t vocabulary, const std::string& path) {
  std::vector<std::string> words;  // the default vocabulary, by rank
  if (vocabulary == kDefaultVocabulary) {
    words.resize(vocabulary);
    for (size_t r = 0; r < vocabulary; ++r) AppendWord(r, vocabulary, words[r]);
  }
  // Zipf(s = 1): cumulative weights 1/(r+1), sampled by binary search.
  std::vector<double> cumulative(vocabulary);
  double total = 0;
  for (size_t r = 0; r < vocabulary; ++r)
    cumulative[r] = (total += 1.0 / static_cast<double>(r + 1));
  uint64_t state = seed;
  Out out(path);
  std::string word;
  while (out.written() < bytes) {
    int n = 8 + static_cast<int>(SplitMix64(state) % 9);
    for (int i = 0; i < n; ++i) {
      double u = static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53 * total;
      size_t r = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
      if (r >= vocabulary) r = vocabulary - 1;
      if (i > 0) out.Append(' ');
      if (words.empty()) {
        word.clear();
        AppendWord(r, vocabulary, word);
        out.Append(word);
      } else {
        out.Append(words[r]);
      }
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
    for (int k = 26; k < 99; ++k)
      line[k] = static_cast<char>('A' + (fill + static_cast<uint64_t>(k) * 7) % 26);
    line[99] = '\n';
    out.Append(std::string_view(line, 100));
  }
}

// A uniform draw from [0, n), n > 0 (multiply-high: no modulo bias worth noting, same
// result everywhere).
uint64_t Below(uint64_t& state, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(SplitMix64(state)) * n) >> 64);
}

// A seeded permutation of [0, n) (Fisher-Yates).
std::vector<uint32_t> Permutation(uint32_t n, uint64_t& state) {
  std::vector<uint32_t> p(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = i;
  for (uint32_t i = n; i > 1; --i) std::swap(p[i - 1], p[Below(state, i)]);
  return p;
}

// Out-degrees, indexed by out-degree rank: every vertex gets `base` (1 when EDGES >=
// VERTICES, else 0) and the rest is shared in proportion to (rank + 1)^-0.75, i.e. a
// power law with P(degree > d) ~ d^-4/3 (at 2M vertices and 20M edges: out-degrees
// from 3 to 122,465, median 5). No degree exceeds VERTICES - 1; the
// shares are rounded down and what is left is dealt one edge at a time from rank 0 on.
std::vector<uint32_t> OutDegrees(uint64_t vertices, uint64_t edges) {
  const uint64_t base = edges >= vertices ? 1 : 0;
  const uint64_t cap = vertices - 1;
  std::vector<uint64_t> weight(vertices);
  unsigned __int128 total = 0;
  for (uint64_t r = 0; r < vertices; ++r) {
    double x = static_cast<double>(r + 1);
    weight[r] = static_cast<uint64_t>(0x1.0p32 / (std::sqrt(x) * std::sqrt(std::sqrt(x))));
    total += weight[r];
  }
  const uint64_t rest = edges - base * vertices;
  std::vector<uint32_t> degree(vertices);
  uint64_t assigned = 0;
  for (uint64_t r = 0; r < vertices; ++r) {
    uint64_t d =
        base + static_cast<uint64_t>(static_cast<unsigned __int128>(rest) * weight[r] / total);
    degree[r] = static_cast<uint32_t>(std::min(d, cap));
    assigned += degree[r];
  }
  for (uint64_t r = 0; assigned < edges; r = (r + 1) % vertices) {
    if (degree[r] < cap) {
      ++degree[r];
      ++assigned;
    }
  }
  return degree;
}

// A power-law directed graph (see the header). Out-degrees follow OutDegrees, given to
// the vertices in a seeded random order. Each edge's destination is drawn by popularity:
// Zipf with s = 1 over a second seeded order of the vertices (P(rank r) ~ 1/(r+1)), so
// in-degrees are skewed too. A draw that repeats one of the source's destinations or
// the source itself is redrawn; after 8 such draws the destination is uniform instead
// (a source with 100k edges cannot find them all among the popular vertices). At 2M
// vertices and 20M edges the top vertex has 706,327 in-edges and 415,325 have none
// (those get no rank from PageRank's first iteration on). Lines come in source order,
// "src dst\n".
void GenerateGraph(uint64_t vertices, uint64_t edges, uint64_t seed, const std::string& path) {
  if (vertices >= (uint64_t{1} << 32) - 1) Die("VERTICES must be below 2^32 - 1");
  if (edges > 0 && (vertices < 2 || edges > vertices * (vertices - 1))) {
    Die("EDGES must be at most VERTICES * (VERTICES - 1) (no duplicates, no self loops)");
  }
  uint64_t state = seed;
  const std::vector<uint32_t> degree_order = Permutation(static_cast<uint32_t>(vertices), state);
  const std::vector<uint32_t> popularity_order =
      Permutation(static_cast<uint32_t>(vertices), state);
  const std::vector<uint32_t> by_rank = OutDegrees(vertices, edges);
  std::vector<uint32_t> degree(vertices);
  for (uint64_t r = 0; r < vertices; ++r) degree[degree_order[r]] = by_rank[r];

  // Integer cumulative Zipf weights: exact, so the draws are the same everywhere.
  std::vector<uint64_t> cumulative(vertices);
  uint64_t total = 0;
  for (uint64_t r = 0; r < vertices; ++r) cumulative[r] = (total += (uint64_t{1} << 40) / (r + 1));

  std::vector<uint32_t> taken(vertices, 0);  // taken[v] == src + 1: src already links to v
  Out out(path);
  char line[48];  // two 20-digit numbers at most, a space and '\n'
  for (uint64_t src = 0; src < vertices; ++src) {
    const uint32_t tag = static_cast<uint32_t>(src + 1);
    taken[src] = tag;
    for (uint32_t e = 0; e < degree[src]; ++e) {
      uint32_t dst = 0;
      bool found = false;
      for (int attempt = 0; attempt < 8 && !found; ++attempt) {
        uint64_t t = Below(state, total);
        size_t r = std::upper_bound(cumulative.begin(), cumulative.end(), t) - cumulative.begin();
        dst = popularity_order[r];
        found = taken[dst] != tag;
      }
      while (!found) {
        dst = static_cast<uint32_t>(Below(state, vertices));
        found = taken[dst] != tag;
      }
      taken[dst] = tag;
      char* p = std::to_chars(line, line + 20, src).ptr;
      *p++ = ' ';
      p = std::to_chars(p, p + 20, dst).ptr;
      *p++ = '\n';
      out.Append(std::string_view(line, static_cast<size_t>(p - line)));
    }
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
    for (; i != std::string::npos && i < name.size() &&
           std::isdigit(static_cast<unsigned char>(name[i]));
         ++i) {
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
      if (tab == std::string_view::npos)
        Die("no tab in a line of " + file + ": " + std::string(line));
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

// Rounds to 10 significant digits, so that ranks which differ only by the order in
// which a system summed their contributions compare equal.
double RoundForRanking(double v) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.9e", v);
  return std::strtod(text, nullptr);
}

int CheckRanks(const std::string& dir) {
  struct Rank {
    uint64_t vertex;
    double rank;
  };
  std::vector<Rank> ranks;
  std::string number;
  for (const std::string& file : OutputFiles(dir)) {
    uint64_t line_number = 0;
    ForEachLine(file, [&](std::string_view line) {
      ++line_number;
      auto bad = [&](const char* why) {
        Die(file + ":" + std::to_string(line_number) + ": " + why + ": \"" +
            std::string(line.substr(0, 80)) + "\" (want \"vertex\\trank\")");
      };
      size_t tab = line.find('\t');
      if (tab == std::string_view::npos) bad("no tab");
      uint64_t vertex = 0;
      auto [end, ec] = std::from_chars(line.data(), line.data() + tab, vertex);
      if (tab == 0 || ec != std::errc() || end != line.data() + tab) bad("bad vertex");
      number.assign(line.substr(tab + 1));
      char* rank_end = nullptr;
      errno = 0;
      double rank = std::strtod(number.c_str(), &rank_end);
      if (number.empty() || errno != 0 || *rank_end != '\0' || !std::isfinite(rank))
        bad("bad rank");
      ranks.push_back({vertex, rank});
    });
  }
  // The sum in vertex order, so that it does not depend on the order of the lines.
  std::sort(ranks.begin(), ranks.end(),
            [](const Rank& a, const Rank& b) { return a.vertex < b.vertex; });
  long double sum = 0;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0 && ranks[i].vertex == ranks[i - 1].vertex) {
      Die("vertex " + std::to_string(ranks[i].vertex) + " appears more than once in " + dir);
    }
    sum += ranks[i].rank;
  }
  std::vector<std::pair<double, uint64_t>> keyed(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i)
    keyed[i] = {RoundForRanking(ranks[i].rank), ranks[i].vertex};
  const size_t top = std::min<size_t>(10, keyed.size());
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(top), keyed.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::string ids;
  for (size_t i = 0; i < top; ++i) ids += (i > 0 ? "," : "") + std::to_string(keyed[i].second);
  std::printf("vertices=%zu sum=%.6g top=%s\n", ranks.size(), static_cast<double>(sum),
              ids.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if ((args.size() == 4 || args.size() == 5) && args[0] == "text") {
    const uint64_t vocabulary =
        args.size() == 5 ? ParseCount(argv[5], "VOCABULARY") : kDefaultVocabulary;
    if (vocabulary == 0) Die("VOCABULARY must be at least 1");
    GenerateText(ParseCount(argv[2], "BYTES"), ParseCount(argv[3], "SEED"), vocabulary, args[3]);
    return 0;
  }
  if (args.size() == 4 && args[0] == "records") {
    GenerateRecords(ParseCount(argv[2], "BYTES"), ParseCount(argv[3], "SEED"), args[3]);
    return 0;
  }
  if (args.size() == 5 && args[0] == "graph") {
    GenerateGraph(ParseCount(argv[2], "VERTICES"), ParseCount(argv[3], "EDGES"),
                  ParseCount(argv[4], "SEED"), args[4]);
    return 0;
  }
  if (args.size() == 2 && args[0] == "check-words") return CheckWords(args[1]);
  if (args.size() == 3 && args[0] == "check-sort") return CheckSort(args[1], args[2]);
  if (args.size() == 2 && args[0] == "check-ranks") return CheckRanks(args[1]);
  std::fprintf(stderr,
               "usage: bench_data text BYTES SEED OUT [VOCABULARY] | records BYTES SEED OUT |\n"
               "       graph VERTICES EDGES SEED OUT |\n"
               "       check-words DIR | check-sort INPUT DIR | check-ranks DIR\n");
  return 2;
}
