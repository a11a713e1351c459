#include "core/runtime/heartbeat.h"

#include <algorithm>

namespace seams {

Heartbeat::Heartbeat(const Clock& clock) : clock_(clock), last_touch_ns_(toNs(clock.now())) {}

void Heartbeat::touch() {
  last_touch_ns_.store(toNs(clock_.now()), std::memory_order_release);
}

Duration Heartbeat::age(MonoTime now) const {
  const std::int64_t since = last_touch_ns_.load(std::memory_order_acquire);
  return Duration(std::max<std::int64_t>(toNs(now) - since, 0));
}

}  // namespace seams
