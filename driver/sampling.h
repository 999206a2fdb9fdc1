#pragma once
// The random numbers of sample and random_split: one generator per partition, seeded
// from the user's seed and the partition's index, so that a dataset whose partitions
// hold the same records in the same order samples the same records on every run, on
// any executor.

#include <cmath>
#include <cstdint>
#include <random>

namespace kiln::internal {

class PartitionRandom {
 public:
  PartitionRandom(uint64_t seed, int partition)
      : rng_(Mix(seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(partition) + 1))) {}

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  // How many copies of a record a sample with replacement keeps: Poisson(mean)
  // (Knuth's method: mean is a sampling fraction, small).
  int Poisson(double mean) {
    const double limit = std::exp(-mean);
    int k = 0;
    for (double p = Uniform(); p > limit; p *= Uniform()) ++k;
    return k;
  }

 private:
  // splitmix64's finalizer: nearby seeds give unrelated streams.
  static uint64_t Mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }

  std::mt19937_64 rng_;
};

}  // namespace kiln::internal
