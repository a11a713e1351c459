// HttpFrontend: the vault's HTTP API on a listening socket (Boost.Beast on Asio).
//
// A plain class: seamd's composition root wraps it in a runtime Service. It sees only the Vault
// and Auth interfaces, so the same code serves in seamd (local objects) and in seam-httpd (IPC
// stubs).
//
// Threads. start() opens an acceptor on its own thread and io_context, and `http.threads` worker
// threads. With ThreadModel::loop_per_thread (the default) each worker runs its own io_context
// and owns the connections handed to it round-robin: a connection's handlers always run on one
// thread, so nothing is locked and no handler crosses threads. With ThreadModel::shared_loop all
// workers run one io_context (Beast's classic example); kept to measure the difference (see
// core/http/README.md). The acceptor never runs request code, so a hung worker cannot keep the
// port bound after stop().
//
// Heartbeat. A timer on every worker loop stamps that loop's heartbeat every heartbeat_interval.
// lastHeartbeat() is the oldest stamp of all loops, so one worker stuck in a handler (a hung
// vault call) ages it, and the watchdog sees the service as hung.
//
// Lifecycle. start() returns once the socket is bound and listening (port() is then the bound
// port, useful with port 0). stop() closes the acceptor, stops every loop (which closes every
// connection) and joins the threads. A worker that does not finish within stop_timeout (stuck in
// a handler) is abandoned: detached and counted in abandonedThreads(); it keeps its loop and the
// handler alive through shared ownership, and touches only the Vault, Auth and MetricsRegistry,
// which live in the process's Deps until exit. start() after stop() works (the watchdog restarts
// services), on the same port when the config names one.
//
// Hostile clients (core/http/README.md "Connections" and "Logins"): request framing is checked
// before a body is read; POST /v1/login runs its password check on a pool of its own behind a
// throttle (LoginGate), so no other route waits for one; at most maxConnections() connections
// are open, and past it the one waiting longest for a request head is closed (loop_per_thread)
// or the new one answered 503.
//
// Thread-safety: start(), stop() and the destructor from one controlling thread at a time;
// port(), running(), lastHeartbeat(), abandonedThreads() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/auth/auth.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/stats/metrics.h"
#include "core/vault/vault.h"

namespace seams {

namespace http {
class ApiHandler;
class LoginThrottle;
class Server;
}  // namespace http

class HttpFrontend {
 public:
  enum class ThreadModel : std::uint8_t { loop_per_thread = 0, shared_loop = 1 };
  struct Options {
    ThreadModel thread_model = ThreadModel::loop_per_thread;
    std::chrono::milliseconds heartbeat_interval{100};
    std::chrono::milliseconds stop_timeout{5000};
    // The login throttle's clock (nullptr: the system clock); must outlive the frontend.
    const Clock* clock = nullptr;
    // GET /v1/probe's bounds (the config's [probe]).
    ProbeLimits probe;
    // A listening TCP socket to serve on instead of binding http.listen (one a supervisor holds
    // and passed by socket activation, core/process/listen_fds.h); -1: bind. Borrowed: every
    // start() serves on a duplicate and stop() closes only that, so the socket, and the
    // connections the kernel queues on it, outlive a stop and a restart. Must outlive the
    // frontend.
    int listen_fd = -1;
  };

  // vault, auth and metrics must outlive this object (and any thread it abandons: Deps does).
  HttpFrontend(Vault& vault, Auth& auth, MetricsRegistry& metrics, HttpConfig config);
  HttpFrontend(Vault& vault, Auth& auth, MetricsRegistry& metrics, HttpConfig config,
               Options options);
  ~HttpFrontend();  // stop()s
  HttpFrontend(const HttpFrontend&) = delete;
  HttpFrontend& operator=(const HttpFrontend&) = delete;

  // Binds http.listen (or takes Options::listen_fd) and starts serving. invalid_argument for a
  // bad address or a listen_fd that is not a listening TCP socket, unavailable when the address
  // cannot be bound (in use, no permission), conflict when already running.
  Status start();
  // Stops serving; safe when not running and safe twice.
  void stop();

  bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  // The bound port while running (0 otherwise).
  std::uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }
  // The oldest heartbeat of the worker loops (steady clock); the start time until the first tick.
  std::chrono::steady_clock::time_point lastHeartbeat() const noexcept;
  // The connection cap in force while running: http.max_connections, or the one derived from
  // RLIMIT_NOFILE when that is 0 (see resolveMaxConnections()).
  int maxConnections() const noexcept { return max_connections_.load(std::memory_order_acquire); }
  // `configured` when positive; else the soft RLIMIT_NOFILE less a quarter of it (at most
  // 1024 kept for the rest of the process), at least 16.
  static int resolveMaxConnections(int configured);
  // Worker threads abandoned by stop() because they did not finish in time.
  std::uint64_t abandonedThreads() const noexcept {
    return abandoned_.load(std::memory_order_relaxed);
  }

 private:
  HttpConfig config_;
  Options options_;
  Auth& auth_;
  MetricsRegistry& metrics_;
  SystemClock system_clock_;  // the throttle's clock unless Options::clock says otherwise
  std::shared_ptr<http::ApiHandler> handler_;
  // Failed-login records; kept across stop()/start() so a restart does not wipe them.
  std::shared_ptr<http::LoginThrottle> throttle_;
  // One slot per worker thread, stamped by its loop's heartbeat timer; shared with the loops so a
  // thread stop() abandons never writes freed memory.
  std::shared_ptr<std::atomic<std::int64_t>[]> heartbeats_;
  Mutex control_;  // serialises start()/stop()
  std::unique_ptr<http::Server> server_ GUARDED_BY(control_);
  std::atomic<bool> running_{false};
  std::atomic<std::uint16_t> port_{0};
  std::atomic<int> max_connections_{0};
  std::atomic<std::uint64_t> abandoned_{0};
};

}  // namespace seams
