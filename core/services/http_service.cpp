#include "core/services/http_service.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "core/http/http_frontend.h"
#include "core/services/supervised_loop.h"

namespace seams {

HttpService::HttpService(HttpConfig config, Deps& deps, MetricsRegistry& metrics,
                         std::vector<std::string> dependencies, ProbeLimits probe, int listen_fd)
    : config_(std::move(config)),
      deps_(deps),
      metrics_(metrics),
      dependencies_(std::move(dependencies)),
      probe_(probe),
      listen_fd_(listen_fd) {}

HttpService::~HttpService() {
  MutexLock lock(mutex_);
  if (current_) current_->stop();
}

std::uint16_t HttpService::port() const {
  MutexLock lock(mutex_);
  return current_ ? current_->port() : 0;
}

Status HttpService::run(RunContext& ctx) {
  std::vector<HeldDependency> held = {holdDependency<Vault>(deps_, "the vault"),
                                      holdDependency<Auth>(deps_, "auth")};
  std::shared_ptr<Vault> vault = deps_.get<Vault>();
  std::shared_ptr<Auth> auth = deps_.get<Auth>();
  if (!vault || !auth) return Status(Errc::unavailable, "vault or auth not published");

  std::shared_ptr<HttpFrontend> previous;
  {
    MutexLock lock(mutex_);
    previous = std::move(current_);
  }
  if (previous) previous->stop();  // a hung run's frontend: release its port first

  // The frontend borrows vault and auth; holding them beside it keeps them alive for as long as
  // the frontend (and any worker thread it abandons) may use them. Members die in reverse order,
  // so the frontend stops before they are released.
  struct Serving {
    Serving(std::shared_ptr<Vault> v, std::shared_ptr<Auth> a, MetricsRegistry& m,
            const HttpConfig& c, const HttpFrontend::Options& options)
        : vault(std::move(v)), auth(std::move(a)), frontend(*vault, *auth, m, c, options) {}
    std::shared_ptr<Vault> vault;
    std::shared_ptr<Auth> auth;
    HttpFrontend frontend;
  };
  HttpFrontend::Options options;
  options.probe = probe_;
  options.listen_fd = listen_fd_;
  auto serving = std::make_shared<Serving>(vault, auth, metrics_, config_, options);
  std::shared_ptr<HttpFrontend> frontend(serving, &serving->frontend);
  if (Status s = frontend->start(); !s.ok()) return s;
  {
    MutexLock lock(mutex_);
    current_ = frontend;
  }
  // However this run ends (stop, error, injected crash unwinding through here), the frontend
  // stops with it: a crashed service must not keep serving. Only a hung run keeps it, until
  // the next run stops it.
  struct StopOnExit {
    HttpService* self;
    std::shared_ptr<HttpFrontend> frontend;
    ~StopOnExit() {
      frontend->stop();
      MutexLock lock(self->mutex_);
      if (self->current_ == frontend) self->current_.reset();
    }
  } stop_on_exit{this, frontend};
  spdlog::info("http: listening on port {} (at most {} connections){}", frontend->port(),
               frontend->maxConnections(),
               listen_fd_ >= 0 ? ", on the socket the supervisor holds" : "");
  ctx.ready();

  // The frontend stamps its loops on the steady clock (the system clock behind ctx.clock()), so
  // its age is taken on that clock; the deadline is the watchdog's.
  const Duration deadline = ctx.heartbeatDeadline();
  return superviseUntilStopped(
      ctx, std::chrono::milliseconds(100), held, [&]() -> Result<Liveness> {
        if (!frontend->running()) return Status(Errc::unavailable, "HTTP frontend stopped");
        auto age = std::chrono::steady_clock::now() - frontend->lastHeartbeat();
        return age < deadline ? Liveness::alive : Liveness::stalled;
      });
}

}  // namespace seams
