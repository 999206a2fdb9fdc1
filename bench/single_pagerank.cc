// bench_single_pagerank INPUT ITERS OUTDIR: the hand-written single-thread PageRank
// baseline, with the semantics of Spark's SparkPageRank example (bench/README.md):
//
//   links = edges grouped by source; ranks = every source -> 1.0
//   ITERS times: each source that has a rank sends rank / out-degree to each of its
//   destinations; a vertex that received something gets 0.15 + 0.85 * (sum received),
//   a vertex that received nothing has no rank (and sends nothing next time)
//
// and writes OUTDIR/part-00000 with "vertex\trank" lines (vertices with a rank, in id
// order; rank in shortest round-trip form). INPUT is "src dst" lines of decimal vertex
// ids, which are taken as dense array indices (bench_data graph writes ids in
// [0, VERTICES)). The whole file is read at once and parsed by hand; the edges go into
// CSR arrays by destination, so each iteration is one pass that pulls from in-neighbours.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_single_pagerank: %s\n", message.c_str());
  std::exit(1);
}

std::vector<char> ReadFile(const char* path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) Die(std::string("cannot stat ") + path + ": " + ec.message());
  std::vector<char> data(size);
  FILE* in = std::fopen(path, "rb");
  if (in == nullptr || std::fread(data.data(), 1, size, in) != size) {
    Die(std::string("cannot read ") + path + ": " + std::strerror(errno));
  }
  std::fclose(in);
  return data;
}

struct Edges {
  std::vector<uint32_t> src;
  std::vector<uint32_t> dst;
  uint32_t vertices = 0;  // largest id + 1
};

// Parses "src dst" lines (spaces or tabs between, optional '\r', last '\n' optional).
Edges Parse(const std::vector<char>& data, const char* path) {
  Edges edges;
  edges.src.reserve(data.size() / 12);
  edges.dst.reserve(data.size() / 12);
  const char* p = data.data();
  const char* const end = p + data.size();
  uint64_t line = 0;
  auto bad = [&]() {
    Die(std::string(path) + ":" + std::to_string(line) + ": want \"src dst\" (decimal ids)");
  };
  auto number = [&]() -> uint32_t {
    uint64_t v = 0;
    const char* start = p;
    while (p < end && static_cast<unsigned>(*p - '0') < 10) {
      v = v * 10 + static_cast<unsigned>(*p - '0');
      if (v >= UINT32_MAX) bad();
      ++p;
    }
    if (p == start) bad();
    return static_cast<uint32_t>(v);
  };
  uint32_t largest = 0;
  while (p < end) {
    ++line;
    uint32_t s = number();
    if (p == end || (*p != ' ' && *p != '\t')) bad();
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    uint32_t d = number();
    if (p < end && *p == '\r') ++p;
    if (p < end && *p++ != '\n') bad();
    edges.src.push_back(s);
    edges.dst.push_back(d);
    largest = std::max({largest, s, d});
  }
  edges.vertices = edges.src.empty() ? 0 : largest + 1;
  return edges;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_single_pagerank INPUT ITERS OUTDIR\n");
    return 2;
  }
  int iters = 0;
  auto [iters_end, iters_ec] = std::from_chars(argv[2], argv[2] + std::strlen(argv[2]), iters);
  if (iters_ec != std::errc() || *iters_end != '\0' || iters < 0)
    Die(std::string("bad ITERS: ") + argv[2]);

  Edges edges;
  {
    std::vector<char> data = ReadFile(argv[1]);
    edges = Parse(data, argv[1]);
  }
  const size_t n = edges.vertices;
  const size_t m = edges.src.size();

  // Out-degrees, and the sources of each vertex's in-edges (CSR by destination).
  std::vector<uint32_t> out_degree(n, 0);
  std::vector<uint64_t> in_begin(n + 1, 0);
  for (size_t e = 0; e < m; ++e) {
    ++out_degree[edges.src[e]];
    ++in_begin[edges.dst[e] + 1];
  }
  for (size_t v = 0; v < n; ++v) in_begin[v + 1] += in_begin[v];
  std::vector<uint32_t> in_source(m);
  {
    std::vector<uint64_t> next(in_begin.begin(), in_begin.end() - 1);
    for (size_t e = 0; e < m; ++e) in_source[next[edges.dst[e]]++] = edges.src[e];
  }
  edges = Edges();  // free the edge list

  // has_rank[v]: v is in `ranks`. Initially every source (every vertex with out-links).
  std::vector<double> rank(n, 0.0);
  std::vector<uint8_t> has_rank(n, 0);
  for (size_t v = 0; v < n; ++v) {
    if (out_degree[v] > 0) {
      rank[v] = 1.0;
      has_rank[v] = 1;
    }
  }
  // share[s]: what s sends to each destination this iteration (0 when it sends nothing);
  // sends[s]: whether it sends at all (the join of links and ranks keeps s).
  std::vector<double> share(n);
  std::vector<uint8_t> sends(n);
  for (int it = 0; it < iters; ++it) {
    for (size_t s = 0; s < n; ++s) {
      sends[s] = has_rank[s] && out_degree[s] > 0;
      share[s] = sends[s] ? rank[s] / out_degree[s] : 0.0;
    }
    for (size_t v = 0; v < n; ++v) {
      double sum = 0;
      uint8_t received = 0;
      for (uint64_t i = in_begin[v]; i < in_begin[v + 1]; ++i) {
        uint32_t s = in_source[i];
        sum += share[s];
        received |= sends[s];
      }
      has_rank[v] = received;
      rank[v] = received ? 0.15 + 0.85 * sum : 0.0;
    }
  }

  std::filesystem::create_directories(argv[3]);
  std::string path = std::string(argv[3]) + "/part-00000";
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) Die("cannot create " + path + ": " + std::strerror(errno));
  std::vector<char> chunk(1 << 22);
  size_t used = 0;
  for (size_t v = 0; v < n; ++v) {
    if (!has_rank[v]) continue;
    if (used + 64 > chunk.size()) {
      std::fwrite(chunk.data(), 1, used, out);
      used = 0;
    }
    char* p = chunk.data() + used;
    p = std::to_chars(p, p + 20, v).ptr;
    *p++ = '\t';
    p = std::to_chars(p, p + 32, rank[v]).ptr;
    *p++ = '\n';
    used = static_cast<size_t>(p - chunk.data());
  }
  std::fwrite(chunk.data(), 1, used, out);
  if (std::fclose(out) != 0) Die("cannot write " + path);
  return 0;
}
