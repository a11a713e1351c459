// HistogramSnapshot <-> JSON (nlohmann), so the bench and the report agree on one format:
//
//   {"count": 3, "sum": 5100, "min": 100, "max": 4000,
//    "buckets": [[100, 100, 1], [1000, 1003, 1], [3968, 3999, 1]]}   // [low, high, count]
//
// Buckets as arrays keep a run's JSON small (a busy histogram has a few hundred non-zero
// buckets). Reading validates shape and types only; Histogram::add()/fromSnapshot() then checks
// the buckets against the layout.
#pragma once

#include <nlohmann/json.hpp>

#include "core/stats/histogram.h"

namespace seams {

inline void to_json(nlohmann::json& j, const HistogramSnapshot& s) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& b : s.buckets) buckets.push_back({b.low, b.high, b.count});
  j = nlohmann::json{
      {"count", s.count}, {"sum", s.sum}, {"min", s.min}, {"max", s.max}, {"buckets", buckets}};
}

// Throws nlohmann::json::exception on a malformed document (catch it where the JSON is read).
inline void from_json(const nlohmann::json& j, HistogramSnapshot& s) {
  s = HistogramSnapshot{};
  j.at("count").get_to(s.count);
  j.at("sum").get_to(s.sum);
  j.at("min").get_to(s.min);
  j.at("max").get_to(s.max);
  for (const auto& b : j.at("buckets")) {
    if (!b.is_array() || b.size() != 3) {
      throw nlohmann::json::type_error::create(302, "a bucket must be [low, high, count]", &b);
    }
    s.buckets.push_back(
        {b[0].get<std::uint64_t>(), b[1].get<std::uint64_t>(), b[2].get<std::uint64_t>()});
  }
}

}  // namespace seams
