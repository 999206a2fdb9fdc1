// kiln_bench: the Kiln side of the benchmarks (bench/run.sh). Run through kiln-submit:
//
//   kiln_bench cold N                       count of N records in 2 tasks
//   kiln_bench sched_tasks N                one stage of N empty tasks
//   kiln_bench sched_jobs N                 N sequential one-task jobs (after 20 warm-ups)
//   kiln_bench wordcount INPUT OUTPUT PARTS word count, PARTS reduce partitions
//   kiln_bench sort INPUT OUTPUT PARTS      lines sorted by their first 10 bytes
//   kiln_bench pagerank INPUT ITERS OUTPUT PARTS
//                                           Spark's classic PageRank over an edge list
//                                           ("src dst" lines): links grouped by source
//                                           and cached, ITERS rounds of join + reduce
//   kiln_bench shuffle BYTES MAPS REDUCES   all-to-all: MAPS tasks make BYTES in all of
//                                           10 KB records, dealt over REDUCES partitions;
//                                           "seconds" times reading the shuffle once more
//                                           (the map outputs are reused), so it measures
//                                           the shuffle read alone
//
// Prints "BENCH key value" lines on stdout: seconds (the measured work, after the
// context is up), session_seconds (context start and first executors), and per
// benchmark count, median_ms, p99_ms.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"

namespace {

using Clock = std::chrono::steady_clock;

// Record size of the shuffle benchmark.
constexpr size_t kRecordBytes = 10'000;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Usage() {
  std::fprintf(stderr,
               "usage: kiln_bench cold N | sched_tasks N | sched_jobs N |\n"
               "       wordcount INPUT OUTPUT PARTS | sort INPUT OUTPUT PARTS |\n"
               "       pagerank INPUT ITERS OUTPUT PARTS | shuffle BYTES MAPS REDUCES\n");
  return 2;
}

int64_t Number(const char* text) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "kiln_bench: not a positive number: %s\n", text);
    std::exit(2);
  }
  return v;
}

// Starts the executors: one tiny job, so later timings hold no process start.
double WarmUp(kiln::Context& ctx, Clock::time_point start) {
  ctx.parallelize(std::vector<int>{1, 2}, 2).count();
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  Clock::time_point start = Clock::now();
  kiln::Context ctx(argc, argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  const std::string& bench = args[0];

  if (bench == "cold" && args.size() == 2) {
    std::vector<int64_t> data(static_cast<size_t>(Number(argv[2])));
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int64_t>(i);
    std::printf("BENCH count %lld\n",
                static_cast<long long>(ctx.parallelize(std::move(data), 2).count()));
    return 0;
  }
  if (bench == "sched_tasks" && args.size() == 2) {
    int tasks = static_cast<int>(Number(argv[2]));
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    Clock::time_point t = Clock::now();
    int64_t n = ctx.parallelize(std::vector<int>{}, tasks).count();
    double s = Seconds(t);
    if (n != 0) return 1;
    std::printf("BENCH seconds %.6f\nBENCH tasks_per_s %.1f\n", s, tasks / s);
    return 0;
  }
  if (bench == "sched_jobs" && args.size() == 2) {
    int jobs = static_cast<int>(Number(argv[2]));
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    for (int i = 0; i < 20; ++i) ctx.parallelize(std::vector<int>{1}, 1).count();
    std::vector<double> ms;
    Clock::time_point all = Clock::now();
    for (int i = 0; i < jobs; ++i) {
      Clock::time_point t = Clock::now();
      if (ctx.parallelize(std::vector<int>{1}, 1).count() != 1) return 1;
      ms.push_back(Seconds(t) * 1000);
    }
    double total = Seconds(all);
    std::sort(ms.begin(), ms.end());
    std::printf("BENCH seconds %.6f\nBENCH median_ms %.4f\nBENCH p99_ms %.4f\n", total,
                ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]);
    return 0;
  }
  if (bench == "wordcount" && args.size() == 4) {
    int parts = static_cast<int>(Number(argv[4]));
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    Clock::time_point t = Clock::now();
    using WordCount = std::pair<std::string, int64_t>;
    ctx.text_file(args[1])
        .flat_map([](const std::string& line, kiln::Emit<WordCount>& out) {
          for (std::string_view word : kiln::Words(line)) out.emplace(word, 1);
        })
        .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, parts)
        .map([](WordCount wc) {
          wc.first.push_back('\t');
          kiln::ToText<int64_t>::Append(wc.first, wc.second);
          return std::move(wc.first);
        })
        .save_as_text_file(args[2]);
    std::printf("BENCH seconds %.6f\n", Seconds(t));
    return 0;
  }
  if (bench == "sort" && args.size() == 4) {
    int parts = static_cast<int>(Number(argv[4]));
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    Clock::time_point t = Clock::now();
    ctx.text_file(args[1])
        .map([](std::string line) {
          std::string key = line.substr(0, 10);
          return std::pair<std::string, std::string>(std::move(key), std::move(line));
        })
        .sort_by_key(true, parts)
        .map([](std::pair<std::string, std::string> kv) { return std::move(kv.second); })
        .save_as_text_file(args[2]);
    std::printf("BENCH seconds %.6f\n", Seconds(t));
    return 0;
  }
  if (bench == "pagerank" && args.size() == 5) {
    const int iterations = static_cast<int>(Number(argv[3]));
    const int parts = static_cast<int>(Number(argv[5]));
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    Clock::time_point t = Clock::now();
    using Edge = std::pair<int64_t, int64_t>;
    using Rank = std::pair<int64_t, double>;
    auto links = ctx.text_file(args[1])
                     .map([](const std::string& line) {
                       Edge e{0, 0};
                       const char* end = line.data() + line.size();
                       auto [p, ec] = std::from_chars(line.data(), end, e.first);
                       if (ec != std::errc() || p == end)
                         throw std::runtime_error("bad edge: " + line);
                       std::from_chars(p + 1, end, e.second);
                       return e;
                     })
                     .group_by_key(parts)
                     .cache();
    // map_values and reduce_by_key place links and ranks by key alike: each round's
    // join runs where links are cached, with no shuffle (Spark's co-partitioned join).
    auto ranks = links.map_values([](const std::vector<int64_t>&) { return 1.0; });
    for (int i = 0; i < iterations; ++i) {
      ranks = links.join(ranks, parts)
                  .flat_map([](const std::pair<int64_t, std::pair<std::vector<int64_t>, double>>& l,
                               kiln::Emit<Rank>& out) {
                    const auto& [dsts, rank] = l.second;
                    const double share = rank / static_cast<double>(dsts.size());
                    for (int64_t d : dsts) out.emplace(d, share);
                  })
                  .reduce_by_key([](double a, double b) { return a + b; }, parts)
                  .map_values([](double sum) { return 0.15 + 0.85 * sum; });
    }
    ranks
        .map([](const Rank& r) {
          std::string line;
          kiln::ToText<int64_t>::Append(line, r.first);
          line.push_back('\t');
          kiln::ToText<double>::Append(line, r.second);
          return line;
        })
        .save_as_text_file(args[3]);
    std::printf("BENCH seconds %.6f\n", Seconds(t));
    return 0;
  }
  if (bench == "shuffle" && args.size() == 4) {
    const int64_t bytes = Number(argv[2]);
    const int maps = static_cast<int>(Number(argv[3]));
    const int reduces = static_cast<int>(Number(argv[4]));
    const int64_t records_per_map = bytes / static_cast<int64_t>(kRecordBytes) / maps;
    std::printf("BENCH session_seconds %.6f\n", WarmUp(ctx, start));
    std::vector<int> ids(static_cast<size_t>(maps));
    for (int i = 0; i < maps; ++i) ids[static_cast<size_t>(i)] = i;
    auto shuffled =
        ctx.parallelize(ids, maps)
            .flat_map([records_per_map](const int& map, kiln::Emit<std::string>& out) {
              // Bytes that do not repeat within a record; each record starts elsewhere.
              std::string pattern(2 * kRecordBytes, '\0');
              uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(map + 1);
              for (char& c : pattern) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                c = static_cast<char>(x);
              }
              for (int64_t r = 0; r < records_per_map; ++r) {
                out.emplace(pattern, static_cast<size_t>(r * 7919) % kRecordBytes, kRecordBytes);
              }
            })
            .repartition(reduces);
    Clock::time_point t = Clock::now();
    const int64_t n = shuffled.count();
    std::printf("BENCH write_seconds %.6f\n", Seconds(t));
    t = Clock::now();
    if (shuffled.count() != n || n != records_per_map * maps) return 1;
    std::printf("BENCH seconds %.6f\nBENCH bytes %lld\n", Seconds(t),
                static_cast<long long>(n) * static_cast<long long>(kRecordBytes));
    return 0;
  }
  return Usage();
}
