// broadcast_app MIB [destroyed]: broadcast variables on a cluster, each job's figures
// printed as key=value lines for tests/jobs/broadcast_test.cc.
//
//   warm   one task reads a MIB MiB broadcast: one executor fetches it, from the driver
//   wide   1,000 tasks read it: the other executor fetches it, from the first's worker
//   join   a broadcast hash join of 200,000 records with a 1,000-entry table: no shuffle
//          (table_encoded: the table's size; the second executor may take it from a peer)
//   again  after unpersist(), one task reads it: fetched again, from the driver
// With "destroyed", a job uses a destroyed broadcast and fails (exit 1).

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "driver/kiln.h"

namespace {

int64_t BroadcastBytes(kiln::Context& ctx) {
  int64_t bytes = 0;
  for (const kiln::StageMetrics& s : ctx.last_job_stages()) bytes += s.broadcast_bytes;
  return bytes;
}

int64_t ShuffleBytes(kiln::Context& ctx) {
  int64_t bytes = 0;
  for (const kiln::StageMetrics& s : ctx.last_job_stages()) {
    bytes += s.shuffle_bytes_written + s.shuffle_bytes_read;
  }
  return bytes;
}

// Reads a byte of the text at a spot that depends on i.
int64_t Probe(const std::string& text, int64_t i) {
  return static_cast<unsigned char>(text[static_cast<size_t>(i * 104729) % text.size()]);
}

}  // namespace

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc < 2) return 2;
  ctx.default_parallelism();  // both executors are there before the first job
  std::string text(static_cast<size_t>(std::stoll(argv[1])) << 20, '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + (i * 7919) % 26);
  std::vector<int64_t> tasks(1000);
  int64_t expected = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    tasks[static_cast<size_t>(i)] = i;
    expected += Probe(text, i);
  }
  std::string length;  // the encoding is the length as a varint, then the bytes
  kiln::Writer(&length).PutVarint(text.size());
  std::printf("encoded=%zu\n", length.size() + text.size());
  auto big = ctx.broadcast(std::move(text));
  auto probe = [big](int64_t i) { return Probe(big.value(), i); };
  auto sum = [](int64_t x, int64_t y) { return x + y; };

  if (argc > 2 && std::string(argv[2]) == "destroyed") {
    big.destroy();
    ctx.parallelize(tasks, 4).map(probe).reduce(sum);  // fails: exits 1
    return 0;
  }
  int64_t warm = ctx.parallelize(std::vector<int64_t>{0}, 1).map(probe).reduce(sum);
  std::printf("warm ok=%d broadcast_bytes=%lld\n", warm == Probe(big.value(), 0),
              static_cast<long long>(BroadcastBytes(ctx)));
  int64_t wide = ctx.parallelize(tasks, 1000).map(probe).reduce(sum);
  std::printf("wide ok=%d broadcast_bytes=%lld\n", wide == expected,
              static_cast<long long>(BroadcastBytes(ctx)));

  std::unordered_map<int64_t, int64_t> prices;
  for (int64_t k = 0; k < 1000; ++k) prices[k] = 3 * k + 1;
  std::string table_encoding;
  kiln::Writer table_writer(&table_encoding);
  kiln::Encode(table_writer, prices);
  std::printf("table_encoded=%zu\n", table_encoding.size());
  auto table = ctx.broadcast(std::move(prices));
  std::vector<std::pair<int64_t, int64_t>> orders;  // (item, quantity); items up to 1,499
  int64_t revenue = 0;
  for (int64_t i = 0; i < 200000; ++i) {
    const int64_t item = (i * 31) % 1500;
    orders.emplace_back(item, i % 5);
    if (item < 1000) revenue += (3 * item + 1) * (i % 5);
  }
  int64_t joined =
      ctx.parallelize(orders, 8)
          .flat_map([table](const std::pair<int64_t, int64_t>& o, kiln::Emit<int64_t>& out) {
            auto it = table.value().find(o.first);
            if (it != table.value().end()) out(it->second * o.second);
          })
          .reduce(sum);
  std::printf("join ok=%d stages=%zu shuffle_bytes=%lld\n", joined == revenue,
              ctx.last_job_stages().size(), static_cast<long long>(ShuffleBytes(ctx)));

  big.unpersist();
  int64_t again = ctx.parallelize(std::vector<int64_t>{5}, 1).map(probe).reduce(sum);
  std::printf("again ok=%d broadcast_bytes=%lld\n", again == Probe(big.value(), 5),
              static_cast<long long>(BroadcastBytes(ctx)));
  return 0;
}
