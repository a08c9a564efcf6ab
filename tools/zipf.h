// ZipfSampler: draws ranks 0..n-1 with P(rank r) ∝ 1/(r+1)^s by inverting a
// precomputed CDF (8 bytes per rank, O(log n) per draw). Used by the load
// tester and the benchmarks to model torrent popularity; s = 0 is uniform.
#ifndef RINGTRACK_TOOLS_ZIPF_H_
#define RINGTRACK_TOOLS_ZIPF_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace ringtrack {

class ZipfSampler {
 public:
  // REQUIRES: n ≥ 1, s ≥ 0.
  ZipfSampler(uint32_t n, double s) : cdf_(n) {
    double sum = 0;
    for (uint32_t r = 0; r < n; ++r) {
      sum += 1.0 / std::pow(static_cast<double>(r) + 1.0, s);
      cdf_[r] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }

  // `u64` is a uniformly random 64-bit value.
  uint32_t Sample(uint64_t u64) const {
    const double u = static_cast<double>(u64 >> 11) * 0x1.0p-53;
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return static_cast<uint32_t>(
        std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1));
  }

  uint32_t size() const { return static_cast<uint32_t>(cdf_.size()); }

 private:
  std::vector<double> cdf_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_ZIPF_H_
