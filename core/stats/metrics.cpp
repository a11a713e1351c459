#include "core/stats/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <variant>

namespace seams {
namespace {

bool validMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool validLabelName(std::string_view s) {
  if (s.empty() || s.substr(0, 2) == "__") return false;  // "__" is reserved by Prometheus
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

[[noreturn]] void misuse(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "MetricsRegistry: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

std::string_view typeName(MetricsRegistry::Type t) {
  switch (t) {
    case MetricsRegistry::Type::counter:
      return "counter";
    case MetricsRegistry::Type::gauge:
      return "gauge";
    case MetricsRegistry::Type::histogram:
      return "summary";
  }
  return "untyped";
}

// HELP text: backslash and newline escaped.
void appendHelp(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values: backslash, double quote and newline escaped.
void appendLabelValue(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Go's strconv.ParseFloat reads what we write: shortest round-trip form, and the spellings
// Prometheus uses for the special values.
void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

void appendNumber(std::string& out, std::uint64_t v) {
  out += std::to_string(v);
}

// `{a="x",b="y"}` or, with an extra label (quantile), `{a="x",quantile="0.5"}`; "" for none.
void appendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    appendLabelValue(out, v);
    out += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out += '}';
}

constexpr double kNsPerSecond = 1e9;

}  // namespace

void Gauge::add(double d) noexcept {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

struct MetricsRegistry::Series {
  Labels labels;  // sorted by name
  std::variant<Counter, Gauge, Histogram> metric;

  Series(Labels l, Type type) : labels(std::move(l)) {
    switch (type) {
      case Type::counter:
        metric.emplace<Counter>();
        break;
      case Type::gauge:
        metric.emplace<Gauge>();
        break;
      case Type::histogram:
        metric.emplace<Histogram>();
        break;
    }
  }
};

struct MetricsRegistry::Family {
  std::string help;
  Type type;
  // Keyed by the sorted label set; unique_ptr keeps each series at a stable address.
  std::map<Labels, std::unique_ptr<Series>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::seriesFor(std::string_view name, std::string_view help,
                                                    Type type, const Labels& labels) {
  if (!validMetricName(name)) misuse("not a valid metric name", name);
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!validLabelName(sorted[i].first)) misuse("invalid label name " + sorted[i].first, name);
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      misuse("label " + sorted[i].first + " given twice", name);
    }
    if (type == Type::histogram && sorted[i].first == "quantile") {
      misuse("label 'quantile' is reserved for summaries", name);
    }
  }
  MutexLock lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->help = std::string(help);
    family->type = type;
    it = families_.emplace(std::string(name), std::move(family)).first;
  } else if (it->second->type != type) {
    misuse("already registered as a " + std::string(typeName(it->second->type)), name);
  }
  auto& slot = it->second->series[sorted];
  if (!slot) slot = std::make_unique<Series>(std::move(sorted), type);
  return *slot;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  return std::get<Counter>(seriesFor(name, help, Type::counter, labels).metric);
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  return std::get<Gauge>(seriesFor(name, help, Type::gauge, labels).metric);
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const Labels& labels) {
  return std::get<Histogram>(seriesFor(name, help, Type::histogram, labels).metric);
}

std::string MetricsRegistry::renderPrometheus() const {
  std::string out;
  MutexLock lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    appendHelp(out, family->help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += typeName(family->type);
    out += '\n';
    for (const auto& [labels, series] : family->series) {
      if (const auto* c = std::get_if<Counter>(&series->metric)) {
        out += name;
        appendLabels(out, labels);
        out += ' ';
        appendNumber(out, c->value());
        out += '\n';
      } else if (const auto* g = std::get_if<Gauge>(&series->metric)) {
        out += name;
        appendLabels(out, labels);
        out += ' ';
        appendNumber(out, g->value());
        out += '\n';
      } else if (const auto* h = std::get_if<Histogram>(&series->metric)) {
        const std::uint64_t n = h->count();
        for (double q : kQuantiles) {
          std::string qs;
          appendNumber(qs, q);
          out += name;
          appendLabels(out, labels, "quantile", qs);
          out += ' ';
          // An empty summary has no quantiles; Prometheus client libraries answer NaN.
          appendNumber(out, n == 0 ? std::nan("")
                                   : static_cast<double>(h->percentile(q * 100.0)) / kNsPerSecond);
          out += '\n';
        }
        out += name;
        out += "_sum";
        appendLabels(out, labels);
        out += ' ';
        appendNumber(out, static_cast<double>(h->sum()) / kNsPerSecond);
        out += '\n';
        out += name;
        out += "_count";
        appendLabels(out, labels);
        out += ' ';
        appendNumber(out, n);
        out += '\n';
      }
    }
  }
  return out;
}

std::uint64_t ScopedTimer::stop() noexcept {
  if (histogram_ == nullptr) return 0;
  const auto elapsed = clock_->now() - start_;
  const auto ns = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  histogram_->record(static_cast<std::uint64_t>(ns));
  histogram_ = nullptr;
  return static_cast<std::uint64_t>(ns);
}

const Clock& ScopedTimer::systemClock() noexcept {
  // Stateless, so one shared instance is not hidden global state.
  static const SystemClock clock;
  return clock;
}

}  // namespace seams
