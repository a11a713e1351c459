// The login flood: `flooders` clients send wrong passwords for one user as fast as they are
// answered (an attacker ignores Retry-After), while one logged-in client repeats a cached GET.
// Its latency is measured unloaded first, then under the flood; midway through the flood a
// correct login for the flooded user arrives from another address.
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/floods/floods.h"
#include "bench/floods/stats.h"

namespace seams::floods {
namespace {

using SteadyClock = std::chrono::steady_clock;

double usSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
}

struct Phase {
  std::vector<double> us;
  std::uint64_t failed = 0;
};

Phase measureGets(RawHttp& client, const std::string& token, const std::string& path,
                  std::chrono::seconds length) {
  Phase phase;
  auto end = SteadyClock::now() + length;
  while (SteadyClock::now() < end) {
    auto t0 = SteadyClock::now();
    Reply r = client.request("GET", path, token);
    double us = usSince(t0);
    if (r.status == 200) {
      phase.us.push_back(us);
    } else {
      ++phase.failed;
    }
  }
  return phase;
}

nlohmann::json summary(Phase& p) {
  double p50 = quantileUs(p.us, 0.50);
  double p99 = quantileUs(p.us, 0.99);
  return {{"requests", p.us.size()}, {"failed", p.failed}, {"p50_us", p50}, {"p99_us", p99}};
}

}  // namespace

int runLoginFlood(const LoginFloodOptions& o) {
  const std::string flood_user = o.flood_user.empty() ? o.user : o.flood_user;
  RawHttp client(o.server, o.client_address, std::chrono::milliseconds(10'000));
  int status = 0;
  std::string token = client.login(o.user, o.password, &status);
  if (token.empty()) {
    nlohmann::json err = {{"error", "login of the measuring client failed"}, {"status", status}};
    std::printf("%s\n", err.dump().c_str());
    return 2;
  }
  if (client.request("GET", o.path, token).status != 200) {
    std::printf("{\"error\":\"GET %s did not answer 200\"}\n", o.path.c_str());
    return 2;
  }
  Phase unloaded = measureGets(client, token, o.path, o.phase);

  std::atomic<bool> stop{false};
  std::mutex counts_mu;
  std::map<int, std::uint64_t> flood_statuses;  // GUARDED_BY(counts_mu)
  std::vector<std::thread> flooders;
  for (int i = 0; i < o.flooders; ++i) {
    flooders.emplace_back([&, i] {
      RawHttp attacker(o.server, o.flood_address, std::chrono::milliseconds(10'000));
      std::map<int, std::uint64_t> mine;
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        int s = 0;
        attacker.login(flood_user, "wrong-" + std::to_string(i) + "-" + std::to_string(n++), &s);
        ++mine[s];
      }
      std::lock_guard lock(counts_mu);
      for (auto [k, v] : mine) flood_statuses[k] += v;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the flood reaches its steady state

  // The correct login from another address, started halfway through the loaded phase.
  nlohmann::json other;
  std::thread other_login([&] {
    if (flood_user != o.user) return;  // only the measuring user's password is known
    std::this_thread::sleep_for(o.phase / 2);
    RawHttp legit(o.server, o.other_address, std::chrono::milliseconds(30'000));
    auto t0 = SteadyClock::now();
    int s = 0;
    legit.login(o.user, o.password, &s);
    other = {{"address", o.other_address}, {"status", s}, {"ms", usSince(t0) / 1000}};
  });
  Phase loaded = measureGets(client, token, o.path, o.phase);
  other_login.join();
  stop.store(true);
  for (auto& t : flooders) t.join();

  nlohmann::json statuses = nlohmann::json::object();
  for (auto [k, v] : flood_statuses) statuses[std::to_string(k)] = v;
  nlohmann::json out = {{"scenario", "login"},           {"flooders", o.flooders},
                        {"flood_user", flood_user},      {"phase_s", o.phase.count()},
                        {"unloaded", summary(unloaded)}, {"loaded", summary(loaded)},
                        {"flood_responses", statuses},   {"other_address_login", other}};
  double base = out["unloaded"]["p99_us"].get<double>();
  out["p99_ratio"] = base > 0 ? out["loaded"]["p99_us"].get<double>() / base : 0.0;
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace seams::floods
