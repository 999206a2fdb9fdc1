// spill_app MODE ARGS... — jobs over more data than their executors' memory, for the
// memory tests (tests/jobs/spill_test.cc). Records are generated on the executors, so
// the input is as large as the test asks without files.
//
//   sort N OUT        N records (10-byte key from a hash of i, 90-byte value), sorted by
//                     key, written to OUT as "key checksum-of-value" lines.
//   wordcount N D     N words "w<i % D>" counted with reduce_by_key; prints
//                     "keys=K total=T weighted=W" (W: sum of count * (word number + 1)).
//   group N D         N pairs (i % D, i) grouped with group_by_key; prints
//                     "groups=G values=V sum=S ordered=yes|no" (ordered: each group's
//                     values ascending, i.e. in arrival order).
//   join N D          N pairs (i % D, i) joined with D pairs (k, -k); prints
//                     "matches=M left=L right=R" (sums of the joined values).
//
// Partitions: 8 generating tasks, 8 reduce partitions.

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/key_hash.h"
#include "driver/kiln.h"
#include "tests/apps/spill_records.h"

namespace {

constexpr int kParts = 8;

std::vector<int64_t> Slices() {
  std::vector<int64_t> slices(kParts);
  for (int i = 0; i < kParts; ++i) slices[i] = i;
  return slices;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (argc != 4 || (mode != "sort" && mode != "wordcount" && mode != "group" && mode != "join")) {
    std::fprintf(stderr, "usage: spill_app sort N OUT | wordcount N D | group N D | join N D\n");
    return 2;
  }
  const int64_t n = std::atoll(argv[2]);
  if (mode == "sort") {
    ctx.parallelize(Slices(), kParts)
        .flat_map([n](int64_t p, kiln::Emit<std::pair<std::string, std::string>>& out) {
          for (int64_t i = n * p / kParts; i < n * (p + 1) / kParts; ++i) {
            out(std::pair<std::string, std::string>(kiln::test::SortKey(i),
                                                    kiln::test::SortValue(i)));
          }
        })
        .sort_by_key(true, kParts)
        .map([](const std::pair<std::string, std::string>& kv) {
          char sum[24];
          std::snprintf(sum, sizeof(sum), " %016" PRIx64, kiln::KeyHash<std::string>()(kv.second));
          return kv.first + sum;
        })
        .save_as_text_file(argv[3]);
    std::printf("sorted\n");
    return 0;
  }
  const int64_t d = std::atoll(argv[3]);
  if (mode == "join") {
    auto left = ctx.parallelize(Slices(), kParts)
                    .flat_map([n, d](int64_t p, kiln::Emit<std::pair<int64_t, int64_t>>& out) {
                      for (int64_t i = n * p / kParts; i < n * (p + 1) / kParts; ++i) {
                        out(std::pair<int64_t, int64_t>(i % d, i));
                      }
                    });
    auto right = ctx.parallelize(Slices(), kParts)
                     .flat_map([d](int64_t p, kiln::Emit<std::pair<int64_t, int64_t>>& out) {
                       for (int64_t k = d * p / kParts; k < d * (p + 1) / kParts; ++k) {
                         out(std::pair<int64_t, int64_t>(k, -k));
                       }
                     });
    auto summary = left.join(right, kParts)
                       .map([](const std::pair<int64_t, std::pair<int64_t, int64_t>>& kvw) {
                         return std::array<int64_t, 3>{1, kvw.second.first, kvw.second.second};
                       })
                       .reduce([](std::array<int64_t, 3> a, std::array<int64_t, 3> b) {
                         return std::array<int64_t, 3>{a[0] + b[0], a[1] + b[1], a[2] + b[2]};
                       });
    std::printf("matches=%lld left=%lld right=%lld\n", static_cast<long long>(summary[0]),
                static_cast<long long>(summary[1]), static_cast<long long>(summary[2]));
    return 0;
  }
  if (mode == "wordcount") {
    auto counts =
        ctx.parallelize(Slices(), kParts)
            .flat_map([n, d](int64_t p, kiln::Emit<std::pair<std::string, int64_t>>& out) {
              for (int64_t i = n * p / kParts; i < n * (p + 1) / kParts; ++i) {
                out(std::pair<std::string, int64_t>("w" + std::to_string(i % d), 1));
              }
            })
            .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, kParts);
    auto summary = counts
                       .map([](const std::pair<std::string, int64_t>& kv) {
                         const int64_t word = std::atoll(kv.first.c_str() + 1);
                         return std::array<int64_t, 3>{1, kv.second, kv.second * (word + 1)};
                       })
                       .reduce([](std::array<int64_t, 3> a, std::array<int64_t, 3> b) {
                         return std::array<int64_t, 3>{a[0] + b[0], a[1] + b[1], a[2] + b[2]};
                       });
    std::printf("keys=%lld total=%lld weighted=%lld\n", static_cast<long long>(summary[0]),
                static_cast<long long>(summary[1]), static_cast<long long>(summary[2]));
    return 0;
  }
  auto summary =
      ctx.parallelize(Slices(), kParts)
          .flat_map([n, d](int64_t p, kiln::Emit<std::pair<int64_t, int64_t>>& out) {
            for (int64_t i = n * p / kParts; i < n * (p + 1) / kParts; ++i) {
              out(std::pair<int64_t, int64_t>(i % d, i));
            }
          })
          .group_by_key(kParts)
          .map([](const std::pair<int64_t, std::vector<int64_t>>& g) {
            int64_t sum = 0;
            int64_t ordered = 1;
            for (size_t j = 0; j < g.second.size(); ++j) {
              sum += g.second[j];
              if (j > 0 && g.second[j] <= g.second[j - 1]) ordered = 0;
            }
            return std::array<int64_t, 4>{1, static_cast<int64_t>(g.second.size()), sum, ordered};
          })
          .reduce([](std::array<int64_t, 4> a, std::array<int64_t, 4> b) {
            return std::array<int64_t, 4>{a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]};
          });
  std::printf("groups=%lld values=%lld sum=%lld ordered=%s\n", static_cast<long long>(summary[0]),
              static_cast<long long>(summary[1]), static_cast<long long>(summary[2]),
              summary[3] == summary[0] ? "yes" : "no");
  return 0;
}
