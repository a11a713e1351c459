// The idle-connection flood: `idle` connections opened and held without sending a byte (and
// reopened when the server closes one, as an attacker would), while a normal client, logged in
// before the flood, sends one GET every `interval` with a `timeout`. Reports the share of its
// requests answered 200.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/floods/floods.h"
#include "bench/floods/stats.h"

namespace seams::floods {
namespace {

using SteadyClock = std::chrono::steady_clock;

// This process needs an fd per idle connection: raise its own limit (root may raise the hard
// one too). The server's limit is the one under test, not ours.
bool raiseOwnFdLimit(rlim_t need) {
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  if (rl.rlim_cur >= need) return true;
  if (rl.rlim_max < need) rl.rlim_max = need;
  rl.rlim_cur = need;
  return ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

}  // namespace

int runIdleFlood(const IdleFloodOptions& o) {
  if (!raiseOwnFdLimit(static_cast<rlim_t>(o.idle) + 256)) {
    std::printf("{\"error\":\"cannot raise this process's RLIMIT_NOFILE to %d\"}\n", o.idle + 256);
    return 2;
  }
  RawHttp client(o.server, o.client_address, o.timeout);
  int status = 0;
  std::string token = client.login(o.user, o.password, &status);
  if (token.empty()) {
    std::printf("{\"error\":\"login of the normal client failed\",\"status\":%d}\n", status);
    return 2;
  }

  const auto connect_timeout = std::chrono::milliseconds(200);
  std::vector<pollfd> fds(static_cast<std::size_t>(o.idle));
  std::uint64_t open_failures = 0;
  for (pollfd& p : fds) {
    p.fd = connectTo(o.server, o.flood_address, connect_timeout);
    p.events = POLLIN | POLLRDHUP;
    if (p.fd < 0) ++open_failures;
  }
  int held = 0;
  for (const pollfd& p : fds) held += p.fd >= 0 ? 1 : 0;

  // Keeps the flood at full size: a connection the server closes is reopened at once.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> closed_by_server{0};
  std::thread keeper([&] {
    char sink[512];
    while (!stop.load(std::memory_order_relaxed)) {
      int n = ::poll(fds.data(), fds.size(), 100);
      if (n <= 0) continue;
      for (pollfd& p : fds) {
        if (p.fd < 0 || p.revents == 0) continue;
        ssize_t r = ::recv(p.fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r > 0) continue;  // a 503 or similar; the close follows
        ::close(p.fd);
        closed_by_server.fetch_add(1, std::memory_order_relaxed);
        p.fd = o.reconnect ? connectTo(o.server, o.flood_address, connect_timeout) : -1;
      }
    }
  });

  std::vector<double> ok_us;
  std::uint64_t attempts = 0;
  std::uint64_t succeeded = 0;
  std::map<int, std::uint64_t> statuses;
  auto end = SteadyClock::now() + o.duration;
  auto next = SteadyClock::now();
  while (SteadyClock::now() < end) {
    std::this_thread::sleep_until(next);
    next += o.interval;
    auto t0 = SteadyClock::now();
    Reply r = client.request("GET", o.path, token);
    double us = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
    ++attempts;
    ++statuses[r.status];
    if (r.status == 200) {
      ++succeeded;
      ok_us.push_back(us);
    }
  }
  stop.store(true);
  keeper.join();
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }

  nlohmann::json st = nlohmann::json::object();
  for (auto [k, v] : statuses) st[std::to_string(k)] = v;
  double p50 = quantileUs(ok_us, 0.5);
  double p99 = quantileUs(ok_us, 0.99);
  nlohmann::json out = {
      {"scenario", "idle"},
      {"idle_connections", o.idle},
      {"held_at_start", held},
      {"open_failures", open_failures},
      {"closed_by_server", closed_by_server.load()},
      {"reconnect", o.reconnect},
      {"duration_s", o.duration.count()},
      {"timeout_ms", o.timeout.count()},
      {"requests", attempts},
      {"succeeded", succeeded},
      {"success_share", attempts > 0 ? static_cast<double>(succeeded) / attempts : 0.0},
      {"statuses", st},
      {"client_connects", client.connects()},
      {"ok_p50_us", p50},
      {"ok_p99_us", p99}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace seams::floods
