// Percentiles of a set of latencies, for seam-flood's reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace seams::floods {

// The q-quantile (0..1) by the nearest-rank method; 0 for an empty set. Sorts `v`.
inline double quantileUs(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(q * static_cast<double>(v.size()));
  if (rank >= v.size()) rank = v.size() - 1;
  return v[rank];
}

}  // namespace seams::floods
