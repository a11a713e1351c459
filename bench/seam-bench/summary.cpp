#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <optional>
#include <regex>
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

namespace {

// The headline's figures, in order: (label, summary metric, or a regex over the metric's name
// when the load level varies with the options, e.g. "c4" or "c8").
struct KeyFigure {
  const char* label;
  const char* pattern;
};
constexpr KeyFigure kKeyFigures[] = {
    {"GET hot p50", R"(http get_cached c1 p50)"},
    {"GET hot", R"(http get_cached c\d+ throughput)"},
    {"GET cold p50", R"(http get_uncached c1 p50)"},
    {"PUT p50", R"(http put c1 p50)"},
    {"FUSE read4k p50", R"(fuse read4k t1 p50)"},
    {"PSS", R"(memory PSS under load)"},
    {"ready", R"(startup spawn->READY=1)"},
    {"stop", R"(shutdown stop->all gone)"},
};

std::string num(double v) {
  if (std::abs(v) >= 1000) {
    // Thousands separators: 64490 -> "64,490".
    std::string digits = fmt::format("{:.0f}", std::abs(v));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
  }
  if (std::abs(v) >= 100) return fmt::format("{:.0f}", v);
  if (std::abs(v) >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

std::string ratio(double r) {
  return r < 10 ? fmt::format("x{:.2f}", r) : fmt::format("x{:.1f}", r);
}

}  // namespace

std::string Summary::table() const {
  // One row per deployment, a column per key figure: the median over repeats and, beside it, the
  // ratio to mono's median (x1.00 for mono itself). The whole table is seam-report's job.
  struct Column {
    std::string header;
    std::string metric;
    bool higher_is_better;
  };
  std::vector<Column> columns;
  for (const KeyFigure& k : kKeyFigures) {
    const std::regex rx(k.pattern);
    for (const auto& m : metrics_order_) {
      if (!std::regex_match(m, rx)) continue;
      std::string unit;
      for (const auto& d : deployments_order_) {
        auto it = rows_.find({d, m});
        if (it != rows_.end()) unit = it->second.unit;
      }
      const bool rate = unit.size() > 2 && unit.substr(unit.size() - 2) == "/s";
      columns.push_back({fmt::format("{} ({})", k.label, unit), m, rate});
      break;
    }
  }
  std::vector<std::string> deps;
  for (const auto& d : deployments_order_) {
    if (d.rfind("baseline", 0) != 0) deps.push_back(d);
  }
  if (columns.empty() || deps.empty()) return "(no headline figures measured)\n";
  auto median = [&](const std::string& d, const std::string& m) -> std::optional<double> {
    auto it = rows_.find({d, m});
    if (it == rows_.end() || it->second.values.empty()) return std::nullopt;
    return medianInterval(it->second.values).median;
  };
  std::vector<std::vector<std::string>> cells;
  for (const auto& d : deps) {
    std::vector<std::string> row{d};
    for (const auto& c : columns) {
      auto v = median(d, c.metric);
      auto mono = median("mono", c.metric);
      row.push_back(v ? num(*v) : "-");
      row.push_back(v && mono && *mono != 0 ? ratio(*v / *mono) : "");
    }
    cells.push_back(row);
  }
  std::vector<std::string> header{"deployment"};
  for (const auto& c : columns) {
    header.push_back(c.header);
    header.push_back("/mono");
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t j = 0; j < header.size(); ++j) {
    widths[j] = header[j].size();
    for (const auto& row : cells) widths[j] = std::max(widths[j], row[j].size());
  }
  std::ostringstream out;
  out << "Headline: medians over repeats; /mono is the median over mono's (for req/s above 1 is "
         "better, below 1 everywhere else).\n";
  auto line = [&](const std::vector<std::string>& row) {
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (j == 0) {
        out << fmt::format("{:<{}}", row[j], widths[j]);
      } else {
        // A figure and its ratio read as one cell: "22.8 x1.00".
        out << (j % 2 == 1 ? " | " : " ") << fmt::format("{:>{}}", row[j], widths[j]);
      }
    }
    out << "\n";
  };
  line(header);
  std::size_t total = 0;
  for (std::size_t j = 0; j < widths.size(); ++j) total += widths[j] + (j % 2 == 1 ? 3 : 1);
  out << std::string(total, '-') << "\n";
  for (const auto& row : cells) line(row);
  out << "Every figure, with intervals, floors and the verdict: seam-report OUT --out DIR.\n";
  return out.str();
}

}  // namespace seams::bench
