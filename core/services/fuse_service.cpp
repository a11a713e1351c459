#include "core/services/fuse_service.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>

#include "core/fuse/fuse_frontend.h"
#include "core/services/supervised_loop.h"

namespace seams {

FuseService::FuseService(FuseConfig config, Deps& deps, std::vector<std::string> dependencies)
    : config_(std::move(config)), deps_(deps), dependencies_(std::move(dependencies)) {}

FuseService::~FuseService() {
  MutexLock lock(mutex_);
  if (current_) current_->stop();
}

Status FuseService::run(RunContext& ctx) {
  std::vector<HeldDependency> held = {holdDependency<Vault>(deps_, "the vault"),
                                      holdDependency<Auth>(deps_, "auth")};
  std::shared_ptr<Vault> vault = deps_.get<Vault>();
  std::shared_ptr<Auth> auth = deps_.get<Auth>();
  if (!vault || !auth) return Status(Errc::unavailable, "vault or auth not published");

  // A missing mount point is created (a fresh `seamctl init --mount PATH` names one that may
  // not exist yet); anything else in the way is the frontend's to report.
  std::error_code ec;
  std::filesystem::create_directories(config_.mountpoint, ec);
  if (ec && ec != std::errc::file_exists) {
    // create_directories fails on a dead FUSE mount (ENOTCONN) too: the frontend clears that.
    spdlog::debug("fuse: create_directories {}: {}", config_.mountpoint, ec.message());
  }

  std::shared_ptr<FuseFrontend> previous;
  {
    MutexLock lock(mutex_);
    previous = std::move(current_);
  }
  if (previous) previous->stop();  // a hung run's mount: unmount before mounting again

  struct Serving {  // the frontend dies first, then what it borrowed
    Serving(std::shared_ptr<Vault> v, std::shared_ptr<Auth> a, const FuseConfig& c,
            const Clock& clock)
        : vault(std::move(v)), auth(std::move(a)), frontend(*vault, *auth, c, clock) {}
    std::shared_ptr<Vault> vault;
    std::shared_ptr<Auth> auth;
    FuseFrontend frontend;
  };
  auto serving = std::make_shared<Serving>(vault, auth, config_, ctx.clock());
  std::shared_ptr<FuseFrontend> frontend(serving, &serving->frontend);
  if (Status s = frontend->start(
          std::chrono::duration_cast<std::chrono::milliseconds>(ctx.startTimeout()));
      !s.ok()) {
    return s;
  }
  {
    MutexLock lock(mutex_);
    current_ = frontend;
  }
  struct StopOnExit {  // a crashed run unmounts; only a hung one leaves it to the next run
    FuseService* self;
    std::shared_ptr<FuseFrontend> frontend;
    ~StopOnExit() {
      frontend->stop();
      MutexLock lock(self->mutex_);
      if (self->current_ == frontend) self->current_.reset();
    }
  } stop_on_exit{this, frontend};
  spdlog::info("fuse: mounted at {}", frontend->mountpoint());
  ctx.ready();

  const Duration deadline = ctx.heartbeatDeadline();
  return superviseUntilStopped(
      ctx, std::chrono::milliseconds(100), held, [&]() -> Result<Liveness> {
        FuseFrontend::Health h = frontend->health();
        if (!h.running) return Status(Errc::unavailable, "FUSE session ended (unmounted?)");
        if (h.oldest_request_start && ctx.clock().now() - *h.oldest_request_start > deadline) {
          return Liveness::stalled;
        }
        return Liveness::alive;
      });
}

}  // namespace seams
