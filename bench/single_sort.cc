// bench_single_sort INPUT OUTDIR: the hand-written single-thread sort baseline. Reads
// INPUT's 100-byte lines into memory, sorts them by their first 10 bytes and writes
// OUTDIR/part-00000.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

constexpr size_t kRecord = 100;
constexpr size_t kKey = 10;

// The first 8 key bytes, big-endian, so integer order is byte order.
uint64_t Prefix(const char* record) {
  uint64_t v;
  std::memcpy(&v, record, 8);
  return __builtin_bswap64(v);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_single_sort INPUT OUTDIR\n");
    return 2;
  }
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(argv[1], ec);
  if (ec || size % kRecord != 0) {
    std::fprintf(stderr, "bench_single_sort: %s: not a file of %zu-byte records\n", argv[1],
                 kRecord);
    return 1;
  }
  std::vector<char> data(size);
  FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr || std::fread(data.data(), 1, size, in) != size) {
    std::fprintf(stderr, "bench_single_sort: cannot read %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::fclose(in);

  struct Entry {
    uint64_t prefix;
    uint32_t index;
  };
  const size_t n = size / kRecord;
  std::vector<Entry> entries(n);
  for (size_t i = 0; i < n; ++i)
    entries[i] = {Prefix(&data[i * kRecord]), static_cast<uint32_t>(i)};
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return std::memcmp(&data[a.index * kRecord + 8], &data[b.index * kRecord + 8], kKey - 8) < 0;
  });

  std::filesystem::create_directories(argv[2]);
  std::string path = std::string(argv[2]) + "/part-00000";
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "bench_single_sort: cannot create %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::vector<char> chunk;
  chunk.reserve(1 << 22);
  for (const Entry& e : entries) {
    chunk.insert(chunk.end(), &data[e.index * kRecord], &data[e.index * kRecord] + kRecord);
    if (chunk.size() >= (1 << 22)) {
      std::fwrite(chunk.data(), 1, chunk.size(), out);
      chunk.clear();
    }
  }
  std::fwrite(chunk.data(), 1, chunk.size(), out);
  if (std::fclose(out) != 0) {
    std::fprintf(stderr, "bench_single_sort: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}
