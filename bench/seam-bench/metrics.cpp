#include "bench/seam-bench/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <sstream>
#include <unordered_map>

namespace seams::bench {

LatencySummary summarise(const Histogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.mean_ns = h.mean();
  s.p50_ns = h.percentile(50);
  s.p90_ns = h.percentile(90);
  s.p99_ns = h.percentile(99);
  s.p999_ns = h.percentile(99.9);
  s.max_ns = h.max();
  return s;
}

nlohmann::json toJson(const LatencySummary& s) {
  auto us = [](double ns) { return ns / 1000.0; };
  return {{"unit", "us"},
          {"count", s.count},
          {"mean", us(s.mean_ns)},
          {"p50", us(double(s.p50_ns))},
          {"p90", us(double(s.p90_ns))},
          {"p99", us(double(s.p99_ns))},
          {"p99.9", us(double(s.p999_ns))},
          {"max", us(double(s.max_ns))}};
}

std::int64_t scheduledSendNs(std::int64_t start_ns, double rate, int connections, int connection,
                             std::uint64_t index) {
  const double slot = double(index) * double(connections) + double(connection);
  return start_ns + static_cast<std::int64_t>(std::llround(slot * 1e9 / rate));
}

namespace {
template <typename Sample, typename Fresh>
std::optional<std::int64_t> lagOf(std::int64_t t0, std::vector<Sample> reads, Fresh fresh) {
  if (reads.empty()) return std::nullopt;
  std::stable_sort(reads.begin(), reads.end(),
                   [](const Sample& a, const Sample& b) { return a.start_ns < b.start_ns; });
  if (!fresh(reads.back())) return std::nullopt;
  std::size_t first = reads.size() - 1;
  while (first > 0 && fresh(reads[first - 1])) --first;
  return std::max<std::int64_t>(0, reads[first].start_ns - t0);
}
}  // namespace

std::optional<std::int64_t> visibilityLagNs(std::int64_t t0_ns, std::uint64_t version,
                                            std::vector<ReadSample> reads) {
  return lagOf(t0_ns, std::move(reads),
               [version](const ReadSample& r) { return r.ok && r.version >= version; });
}

std::optional<std::int64_t> denialLagNs(std::int64_t t0_ns, std::vector<DenySample> reads) {
  return lagOf(t0_ns, std::move(reads), [](const DenySample& r) { return r.denied; });
}

StaleStats classifyStaleReads(const std::vector<WriteAck>& writes,
                              const std::vector<KeyRead>& reads) {
  // Per key, acknowledgements in time order with the running maximum version: the newest version
  // a read starting at t must see is the max over writes acknowledged before t.
  std::unordered_map<std::string, std::vector<std::pair<std::int64_t, std::uint64_t>>> acks;
  for (const auto& w : writes) acks[w.key].emplace_back(w.ack_ns, w.version);
  for (auto& [key, list] : acks) {
    std::sort(list.begin(), list.end());
    for (std::size_t i = 1; i < list.size(); ++i) {
      list[i].second = std::max(list[i].second, list[i - 1].second);
    }
  }
  StaleStats out;
  for (const auto& r : reads) {
    auto it = acks.find(r.key);
    if (it == acks.end()) continue;
    const auto& list = it->second;
    // Last ack strictly before the read began.
    auto pos = std::lower_bound(list.begin(), list.end(),
                                std::pair<std::int64_t, std::uint64_t>(r.start_ns, 0));
    if (pos == list.begin()) continue;
    --pos;
    ++out.classified;
    if (r.version < pos->second) ++out.stale;
  }
  return out;
}

MemoryRollup& MemoryRollup::operator+=(const MemoryRollup& o) {
  rss += o.rss;
  pss += o.pss;
  private_clean += o.private_clean;
  private_dirty += o.private_dirty;
  shared_clean += o.shared_clean;
  shared_dirty += o.shared_dirty;
  swap_pss += o.swap_pss;
  return *this;
}

MemoryRollup parseSmapsRollup(std::string_view text) {
  MemoryRollup m;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::istringstream rest(line.substr(colon + 1));
    std::uint64_t kb = 0;
    std::string unit;
    if (!(rest >> kb >> unit) || unit != "kB") continue;
    const std::uint64_t bytes = kb * 1024;
    if (key == "Rss")
      m.rss = bytes;
    else if (key == "Pss")
      m.pss = bytes;
    else if (key == "Private_Clean")
      m.private_clean = bytes;
    else if (key == "Private_Dirty")
      m.private_dirty = bytes;
    else if (key == "Shared_Clean")
      m.shared_clean = bytes;
    else if (key == "Shared_Dirty")
      m.shared_dirty = bytes;
    else if (key == "SwapPss")
      m.swap_pss = bytes;
  }
  return m;
}

ProcCounters& ProcCounters::operator+=(const ProcCounters& o) {
  cpu_seconds += o.cpu_seconds;
  voluntary_switches += o.voluntary_switches;
  involuntary_switches += o.involuntary_switches;
  return *this;
}

ProcCounters ProcCounters::operator-(const ProcCounters& o) const {
  ProcCounters d;
  d.cpu_seconds = cpu_seconds - o.cpu_seconds;
  d.voluntary_switches =
      voluntary_switches >= o.voluntary_switches ? voluntary_switches - o.voluntary_switches : 0;
  d.involuntary_switches = involuntary_switches >= o.involuntary_switches
                               ? involuntary_switches - o.involuntary_switches
                               : 0;
  return d;
}

namespace {
// The fields after "(comm) ", split on spaces: index 0 is field 3 (state).
std::vector<std::string_view> fieldsAfterComm(std::string_view line) {
  std::vector<std::string_view> out;
  auto close = line.rfind(')');
  if (close == std::string_view::npos) return out;
  std::string_view rest = line.substr(close + 1);
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    std::size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) out.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
template <typename T>
std::optional<T> toNumber(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}
}  // namespace

std::optional<double> parseStatCpuSeconds(std::string_view stat_line, long ticks_per_second) {
  auto f = fieldsAfterComm(stat_line);
  if (f.size() < 13) return std::nullopt;  // utime is field 14 = index 11, stime index 12
  auto u = toNumber<std::uint64_t>(f[11]);
  auto s = toNumber<std::uint64_t>(f[12]);
  if (!u || !s || ticks_per_second <= 0) return std::nullopt;
  return double(*u + *s) / double(ticks_per_second);
}

std::optional<int> parseStatPpid(std::string_view stat_line) {
  auto f = fieldsAfterComm(stat_line);
  if (f.size() < 2) return std::nullopt;
  return toNumber<int>(f[1]);
}

void parseStatusSwitches(std::string_view status_text, ProcCounters& into) {
  std::istringstream in{std::string(status_text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::uint64_t v = 0;
    std::istringstream rest(line.substr(colon + 1));
    if (!(rest >> v)) continue;
    if (key == "voluntary_ctxt_switches")
      into.voluntary_switches += v;
    else if (key == "nonvoluntary_ctxt_switches")
      into.involuntary_switches += v;
  }
}

DuplicateBytes duplicateCacheBytes(const std::vector<CacheEntrySample>& entries) {
  DuplicateBytes out;
  // (kind, path) -> (copies, bytes of every copy, the largest copy)
  struct Held {
    std::uint64_t copies = 0, bytes = 0, largest = 0;
  };
  std::map<std::pair<std::string, std::string>, Held> held;
  for (const CacheEntrySample& e : entries) {
    out.total_bytes += e.bytes;
    ++out.entries;
    Held& h = held[{e.kind, e.path}];
    ++h.copies;
    h.bytes += e.bytes;
    h.largest = std::max(h.largest, e.bytes);
  }
  for (const auto& [key, h] : held) {
    if (h.copies < 2) continue;
    out.held_twice_bytes += h.bytes - h.largest;
    out.duplicated_entries += h.copies - 1;
  }
  return out;
}

std::vector<CacheDelta> cacheDeltas(const std::vector<CacheScrape>& scrapes) {
  std::vector<CacheDelta> out;
  std::map<std::string, CacheCounts> last;
  for (std::size_t i = 0; i < scrapes.size(); ++i) {
    CacheDelta d{scrapes[i].t_ns, 0, 0};
    for (const auto& [process, now] : scrapes[i].by_process) {
      auto it = last.find(process);
      if (it == last.end()) {
        // First sight: the baseline, unless an earlier scrape existed without it (it started
        // since, so everything it counted happened in this interval).
        if (i > 0) {
          d.hits += now.hits;
          d.misses += now.misses;
        }
      } else {
        const CacheCounts& was = it->second;
        // A counter below its last value was reset: the new value is all this interval's.
        d.hits += now.hits >= was.hits ? now.hits - was.hits : now.hits;
        d.misses += now.misses >= was.misses ? now.misses - was.misses : now.misses;
      }
      last[process] = now;
    }
    if (i > 0) out.push_back(d);
  }
  return out;
}

std::optional<double> hitRatio(const std::vector<CacheDelta>& deltas, std::int64_t from_ns,
                               std::int64_t to_ns) {
  double hits = 0, lookups = 0;
  for (const CacheDelta& d : deltas) {
    if (d.t_ns < from_ns || d.t_ns >= to_ns) continue;
    hits += d.hits;
    lookups += d.hits + d.misses;
  }
  if (lookups <= 0) return std::nullopt;
  return hits / lookups;
}

std::optional<double> prometheusSum(std::string_view text, std::string_view name) {
  return prometheusSumWhere(text, name, {});
}

std::optional<double> prometheusSumWhere(std::string_view text, std::string_view name,
                                         std::string_view label) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::optional<double> sum;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (!label.empty()) {
      const auto close = line.find('}');
      if (line[name.size()] != '{' || close == std::string::npos ||
          std::string_view(line).substr(name.size(), close - name.size()).find(label) ==
              std::string_view::npos)
        continue;
    }
    try {
      double v = std::stod(line.substr(space + 1));
      sum = sum.value_or(0) + v;
    } catch (...) {
    }
  }
  return sum;
}

std::optional<FloorShift> floorShift(double before, double after, double threshold) {
  if (!(before > 0) || !(after > 0)) return std::nullopt;
  FloorShift f;
  f.before = before;
  f.after = after;
  f.change = (after - before) / before;
  f.moved = std::max(before, after) > (1.0 + threshold) * std::min(before, after);
  return f;
}

Interval medianInterval(std::vector<double> values, std::uint64_t seed) {
  Interval iv;
  iv.n = values.size();
  if (values.empty()) return iv;
  auto median = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  };
  std::vector<double> copy = values;
  iv.median = median(copy);
  if (values.size() == 1) {
    iv.low = iv.high = iv.median;
    return iv;
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, values.size() - 1);
  constexpr int kResamples = 2000;
  std::vector<double> medians;
  medians.reserve(kResamples);
  std::vector<double> sample(values.size());
  for (int r = 0; r < kResamples; ++r) {
    for (auto& x : sample) x = values[pick(rng)];
    medians.push_back(median(sample));
  }
  std::sort(medians.begin(), medians.end());
  iv.low = medians[static_cast<std::size_t>(0.025 * (kResamples - 1))];
  iv.high = medians[static_cast<std::size_t>(0.975 * (kResamples - 1))];
  return iv;
}

}  // namespace seams::bench
