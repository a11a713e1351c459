#include "core/runtime/heartbeat.h"

#include <algorithm>
#include <utility>

namespace seams {

Heartbeat::Heartbeat(const Clock& clock) : clock_(clock), last_touch_ns_(toNs(clock.now())) {}

void Heartbeat::touch() {
  last_touch_ns_.store(toNs(clock_.now()), std::memory_order_release);
}

Heartbeat::BusyScope Heartbeat::busy() {
  const std::int64_t now = std::max<std::int64_t>(toNs(clock_.now()), 1);
  for (auto& slot : busy_since_ns_) {
    std::int64_t expected = 0;
    if (slot.load(std::memory_order_relaxed) == 0 &&
        slot.compare_exchange_strong(expected, now, std::memory_order_acq_rel)) {
      return BusyScope(&slot);
    }
  }
  return BusyScope(nullptr);
}

Heartbeat::BusyScope::BusyScope(BusyScope&& other) noexcept
    : slot_(std::exchange(other.slot_, nullptr)) {}

Heartbeat::BusyScope::~BusyScope() {
  if (slot_ != nullptr) slot_->store(0, std::memory_order_release);
}

Duration Heartbeat::age(MonoTime now, HeartbeatMode mode) const {
  const std::int64_t now_ns = toNs(now);
  std::int64_t since = now_ns;
  if (mode == HeartbeatMode::touch) {
    since = last_touch_ns_.load(std::memory_order_acquire);
  } else {
    for (const auto& slot : busy_since_ns_) {
      const std::int64_t t = slot.load(std::memory_order_acquire);
      if (t != 0) since = std::min(since, t);
    }
  }
  return Duration(std::max<std::int64_t>(now_ns - since, 0));
}

}  // namespace seams
