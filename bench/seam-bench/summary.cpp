#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <sstream>

#include "bench/seam-bench/scenarios.h"

namespace seams::bench {

nlohmann::json fig(double value, const std::string& unit) {
  return {{"value", value}, {"unit", unit}};
}

void progress(const std::string& line) {
  static const std::int64_t start = nowNs();
  std::fprintf(stderr, "[%7.1fs] %s\n", double(nowNs() - start) / 1e9, line.c_str());
  std::fflush(stderr);
}

void Summary::add(const std::string& deployment, const std::string& metric, double value,
                  const std::string& unit) {
  if (std::find(metrics_order_.begin(), metrics_order_.end(), metric) == metrics_order_.end()) {
    metrics_order_.push_back(metric);
  }
  if (std::find(deployments_order_.begin(), deployments_order_.end(), deployment) ==
      deployments_order_.end()) {
    deployments_order_.push_back(deployment);
  }
  Row& r = rows_[{deployment, metric}];
  r.values.push_back(value);
  r.unit = unit;
}

nlohmann::json Summary::toJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : metrics_order_) {
    for (const auto& d : deployments_order_) {
      auto it = rows_.find({d, m});
      if (it == rows_.end()) continue;
      Interval iv = medianInterval(it->second.values);
      out.push_back({{"deployment", d},
                     {"metric", m},
                     {"unit", it->second.unit},
                     {"median", iv.median},
                     {"ci95_low", iv.low},
                     {"ci95_high", iv.high},
                     {"values", it->second.values}});
    }
  }
  return out;
}

std::string Summary::table() const {
  auto num = [](double v) {
    if (std::abs(v) >= 1000) return fmt::format("{:.0f}", v);
    if (std::abs(v) >= 10) return fmt::format("{:.1f}", v);
    return fmt::format("{:.3g}", v);
  };
  std::size_t w0 = 6;
  for (const auto& m : metrics_order_) w0 = std::max(w0, m.size() + 8);
  std::vector<std::size_t> widths;
  std::vector<std::vector<std::string>> cells;
  for (const auto& m : metrics_order_) {
    std::vector<std::string> row;
    for (const auto& d : deployments_order_) {
      auto it = rows_.find({d, m});
      if (it == rows_.end()) {
        row.push_back("-");
        continue;
      }
      Interval iv = medianInterval(it->second.values);
      row.push_back(iv.n > 1 ? fmt::format("{} [{}, {}]", num(iv.median), num(iv.low), num(iv.high))
                             : num(iv.median));
    }
    cells.push_back(row);
  }
  for (std::size_t j = 0; j < deployments_order_.size(); ++j) {
    std::size_t w = deployments_order_[j].size();
    for (const auto& row : cells) w = std::max(w, row[j].size());
    widths.push_back(w);
  }
  std::ostringstream out;
  out << fmt::format("{:<{}}", "metric (unit)", w0);
  for (std::size_t j = 0; j < deployments_order_.size(); ++j) {
    out << " | " << fmt::format("{:>{}}", deployments_order_[j], widths[j]);
  }
  out << "\n" << std::string(w0, '-');
  for (std::size_t w : widths) out << "-+-" << std::string(w, '-');
  out << "\n";
  for (std::size_t i = 0; i < metrics_order_.size(); ++i) {
    std::string unit;
    for (const auto& d : deployments_order_) {
      auto it = rows_.find({d, metrics_order_[i]});
      if (it != rows_.end()) unit = it->second.unit;
    }
    out << fmt::format("{:<{}}", metrics_order_[i] + " (" + unit + ")", w0);
    for (std::size_t j = 0; j < deployments_order_.size(); ++j) {
      out << " | " << fmt::format("{:>{}}", cells[i][j], widths[j]);
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace seams::bench
