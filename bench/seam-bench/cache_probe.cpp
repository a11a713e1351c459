#include "bench/seam-bench/cache_probe.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string_view>

#include "bench/seam-bench/load.h"
#include "core/control/control_client.h"

namespace seams::bench {
namespace {

// A scrape must not stall on a daemon the fault scenario just stopped or killed.
constexpr std::chrono::milliseconds kCallTimeout{250};

}  // namespace

std::vector<std::pair<std::string, std::string>> processControlSockets(const std::string& run_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  constexpr std::string_view kSuffix = ".control.sock";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) {
      out.emplace_back(name.substr(0, name.size() - kSuffix.size()), entry.path().string());
    }
  }
  // Split: the daemons' own sockets (the launcher's control.sock holds no cache). Mono: seamd's.
  if (out.empty()) out.emplace_back("seamd", run_dir + "/control.sock");
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<CacheEntrySample>> cacheEntries(const std::string& run_dir) {
  std::vector<CacheEntrySample> out;
  for (const auto& [process, socket] : processControlSockets(run_dir)) {
    auto client = ControlClient::connect(socket, std::chrono::milliseconds(10'000));
    if (!client.ok())
      return Status(client.status().code(), process + ": " + client.status().message());
    auto rows = (*client)->caches();
    if (!rows.ok()) return Status(rows.status().code(), process + ": " + rows.status().message());
    for (CacheEntryRow& r : *rows) {
      out.push_back({process + "/" + r.cache, std::move(r.kind), std::move(r.path), r.bytes});
    }
  }
  return out;
}

CacheCounts cacheCountsOf(std::string_view text) {
  return {prometheusSum(text, "seams_cache_hits_total").value_or(0),
          prometheusSum(text, "seams_cache_misses_total").value_or(0)};
}

CacheSampler::CacheSampler(std::string run_dir, std::chrono::milliseconds interval)
    : run_dir_(std::move(run_dir)), interval_(interval), thread_([this] { loop(); }) {}

CacheSampler::~CacheSampler() {
  stop();
}

void CacheSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<CacheScrape> CacheSampler::scrapes() const {
  std::lock_guard lock(mu_);
  return scrapes_;
}

void CacheSampler::loop() {
  std::int64_t next = nowNs();
  while (!stop_.load()) {
    CacheScrape scrape;
    scrape.t_ns = nowNs();
    for (const auto& [process, socket] : processControlSockets(run_dir_)) {
      // A fresh connection per scrape: a ControlClient owns its thread's one KJ event loop, so
      // two cannot be alive at once here (and a daemon restarted under the same path needs a
      // new connection anyway).
      auto client = ControlClient::connect(socket, kCallTimeout);
      if (!client.ok()) continue;
      auto text = (*client)->stats();
      if (text.ok()) scrape.by_process[process] = cacheCountsOf(*text);
    }
    {
      std::lock_guard lock(mu_);
      scrapes_.push_back(std::move(scrape));
    }
    // Sleep, not waitUntil's final spin: the scrape's phase does not matter, a core does.
    next += std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count();
    if (const std::int64_t left = next - nowNs(); left > 0) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(left));
    }
  }
}

}  // namespace seams::bench
