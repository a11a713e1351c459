#include "core/services/auth_service.h"

#include <chrono>

#include "core/auth/local_auth.h"

namespace seams {

Status AuthService::run(RunContext& ctx) {
  Result<std::unique_ptr<LocalAuth>> auth =
      LocalAuth::create(users_, rules_, options_, ctx.clock());
  if (!auth.ok()) return auth.status();
  std::shared_ptr<LocalAuth> local = std::move(*auth);
  deps_.publish<Auth>(local);
  ctx.ready();
  ctx.heartbeat();
  // Heartbeat often (deadlines may be short), sweep about once a second.
  int ticks = 0;
  while (!ctx.waitForStop(std::chrono::milliseconds(100))) {
    if (++ticks % 10 == 0) local->sweepExpired();
    ctx.heartbeat();
  }
  deps_.withdraw<Auth>();
  return okStatus();
}

}  // namespace seams
