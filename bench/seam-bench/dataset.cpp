#include "bench/seam-bench/dataset.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "bench/seam-bench/metrics.h"
#include "core/common/unique_fd.h"
#include "core/stats/histogram.h"

namespace seams::bench {

namespace fs = std::filesystem;

std::optional<std::int64_t> parseScaledInteger(std::string text) {
  std::int64_t mult = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        mult = 1024;
        break;
      case 'M':
      case 'm':
        mult = 1024 * 1024;
        break;
      case 'G':
      case 'g':
        mult = 1024LL * 1024 * 1024;
        break;
      default:
        break;
    }
    if (mult != 1) text.pop_back();
  }
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
  if (v > std::numeric_limits<std::int64_t>::max() / mult ||
      v < std::numeric_limits<std::int64_t>::min() / mult)
    return std::nullopt;
  return v * mult;
}

Result<std::vector<SizeClass>> parseSizeDist(const std::string& text) {
  std::vector<SizeClass> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos) {
      return Status(Errc::invalid_argument, "--size-dist: '" + item + "' is not SIZE:WEIGHT");
    }
    const auto size = parseScaledInteger(item.substr(0, colon));
    try {
      if (!size || *size < 0) throw std::invalid_argument("size");
      SizeClass c{static_cast<std::uint64_t>(*size), std::stod(item.substr(colon + 1))};
      if (!(c.weight > 0)) throw std::invalid_argument("weight");
      out.push_back(c);
    } catch (const std::exception&) {
      return Status(Errc::invalid_argument, "--size-dist: bad entry '" + item + "'");
    }
  }
  if (out.empty()) return Status(Errc::invalid_argument, "--size-dist: empty");
  return out;
}

std::string sizeLabel(std::uint64_t bytes) {
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) return std::to_string(bytes >> 30) + "G";
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

struct SizeClassTally::Class {
  std::uint64_t size = 0;
  std::uint64_t files = 0;
  Histogram latency;
  std::atomic<std::uint64_t> ok{0}, errors{0};
};

SizeClassTally::SizeClassTally(const DatasetInfo& data) {
  std::map<std::uint64_t, std::uint64_t> files;
  for (std::uint64_t s : data.data_sizes) ++files[s];
  for (const auto& [size, n] : files) {
    auto c = std::make_unique<Class>();
    c->size = size;
    c->files = n;
    classes_.push_back(std::move(c));
  }
}

SizeClassTally::~SizeClassTally() = default;

void SizeClassTally::record(std::uint64_t size, std::uint64_t latency_ns, bool ok) {
  auto it = std::lower_bound(classes_.begin(), classes_.end(), size,
                             [](const auto& c, std::uint64_t s) { return c->size < s; });
  if (it == classes_.end() || (*it)->size != size) return;
  if (ok) {
    (*it)->latency.record(latency_ns);
    ++(*it)->ok;
  } else {
    ++(*it)->errors;
  }
}

nlohmann::json SizeClassTally::toJson(double seconds) const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : classes_) {
    const double ok = double(c->ok.load());
    out[sizeLabel(c->size)] = {
        {"bytes_per_file", c->size},
        {"files", c->files},
        {"ok", c->ok.load()},
        {"errors", c->errors.load()},
        {"latency", bench::toJson(summarise(c->latency))},
        {"throughput", {{"value", seconds > 0 ? ok / seconds : 0.0}, {"unit", "req/s"}}},
        {"bytes_per_s",
         {{"value", seconds > 0 ? ok * double(c->size) / seconds / 1048576.0 : 0.0},
          {"unit", "MiB/s"}}}};
  }
  return out;
}

nlohmann::json DatasetInfo::toJson() const {
  return {{"bytes", {{"value", bytes}, {"unit", "B"}}},
          {"data_files", data_paths.size()},
          {"data_bytes", {{"value", data_bytes}, {"unit", "B"}}}};
}

std::string hotPath(int i) {
  return fmt::format("/bench/hot/f{:02}", i);
}
std::string coldPath(int i) {
  return fmt::format("/bench/cold/f{:04}", i);
}
std::string bigPath(int i) {
  return fmt::format("/bench/big/f{}", i);
}
std::string sharedPath(int i) {
  return fmt::format("/bench/shared/k{:02}", i);
}

namespace {
Status writeWhole(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Status(errcFromErrno(errno), "open " + path);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n <= 0) return Status(errcFromErrno(errno), "write " + path);
    done += static_cast<std::size_t>(n);
  }
  return okStatus();
}
std::string randomBytes(std::mt19937_64& rng, std::uint64_t n) {
  std::string s(n, '\0');
  for (std::uint64_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    for (std::uint64_t k = 0; k < 8 && i + k < n; ++k)
      s[i + k] = static_cast<char>('a' + (v >> (k * 8)) % 26);
  }
  return s;
}
}  // namespace

Result<DatasetInfo> writeDataset(const std::string& vault_root, const DatasetOptions& o) {
  DatasetInfo info;
  std::mt19937_64 rng(o.seed);
  std::error_code ec;
  for (const char* d : {"/bench/hot", "/bench/cold", "/bench/big", "/bench/data", "/bench/shared",
                        "/bench/wr", "/bench/rev"}) {
    fs::create_directories(vault_root + d, ec);
    if (ec) return Status(Errc::io_error, "mkdir " + vault_root + d + ": " + ec.message());
  }
  auto put = [&](const std::string& vpath, std::uint64_t size) -> Status {
    info.bytes += size;
    return writeWhole(vault_root + vpath, randomBytes(rng, size));
  };
  for (int i = 0; i < o.hot_files; ++i) {
    if (Status s = put(hotPath(i), o.hot_bytes); !s.ok()) return s;
  }
  for (int i = 0; i < o.cold_files; ++i) {
    if (Status s = put(coldPath(i), o.cold_bytes); !s.ok()) return s;
  }
  for (int i = 0; i < kBigFiles; ++i) {
    if (Status s = put(bigPath(i), 1 << 20); !s.ok()) return s;
  }
  for (int i = 0; i < kSharedKeys; ++i) {
    if (Status s = put(sharedPath(i), 64); !s.ok()) return s;
  }
  std::vector<double> weights;
  for (const auto& c : o.size_dist) weights.push_back(c.weight);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  for (int i = 0; i < o.files; ++i) {
    const std::string dir = fmt::format("/bench/data/d{:02}", i / 100);
    if (i % 100 == 0) fs::create_directories(vault_root + dir, ec);
    const std::string vpath = fmt::format("{}/f{:05}", dir, i);
    const std::uint64_t size = o.size_dist.empty() ? 4096 : o.size_dist[pick(rng)].bytes;
    if (Status s = put(vpath, size); !s.ok()) return s;
    info.data_bytes += size;
    info.data_paths.push_back(vpath);
    info.data_sizes.push_back(size);
  }
  return info;
}

}  // namespace seams::bench
