#pragma once
// kiln::StatCounter: count, mean, variance, min and max of numbers in one pass, merged
// across partitions (Welford's update, Chan's merge), as Spark's StatCounter. What
// Dataset<number>::stats() returns.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/codec.h"

namespace kiln {

struct StatCounter {
  int64_t n = 0;
  double mu = 0;  // the mean so far
  double m2 = 0;  // the sum of squared differences from it
  double largest = -std::numeric_limits<double>::infinity();
  double smallest = std::numeric_limits<double>::infinity();

  void add(double x) {
    ++n;
    const double delta = x - mu;
    mu += delta / static_cast<double>(n);
    m2 += delta * (x - mu);
    largest = std::max(largest, x);
    smallest = std::min(smallest, x);
  }
  void merge(const StatCounter& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double delta = o.mu - mu;
    const double total = static_cast<double>(n + o.n);
    mu += delta * static_cast<double>(o.n) / total;
    m2 += o.m2 + delta * delta * static_cast<double>(n) * static_cast<double>(o.n) / total;
    n += o.n;
    largest = std::max(largest, o.largest);
    smallest = std::min(smallest, o.smallest);
  }

  int64_t count() const { return n; }
  // NaN when empty, as in Spark.
  double mean() const { return n == 0 ? std::numeric_limits<double>::quiet_NaN() : mu; }
  double sum() const { return mu * static_cast<double>(n); }
  // -inf / +inf when empty, as in Spark.
  double max() const { return largest; }
  double min() const { return smallest; }
  // Population variance (divides by n); NaN when empty.
  double variance() const {
    return n == 0 ? std::numeric_limits<double>::quiet_NaN() : m2 / static_cast<double>(n);
  }
  // Sample variance (divides by n - 1); NaN with fewer than 2 numbers.
  double sample_variance() const {
    return n <= 1 ? std::numeric_limits<double>::quiet_NaN() : m2 / static_cast<double>(n - 1);
  }
  double stdev() const { return std::sqrt(variance()); }
  double sample_stdev() const { return std::sqrt(sample_variance()); }
};

}  // namespace kiln

KILN_CODEC(kiln::StatCounter, n, mu, m2, largest, smallest);
