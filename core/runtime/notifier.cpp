#include "core/runtime/notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace seams {

SystemdNotifier::SystemdNotifier() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    ping_interval_ = std::chrono::microseconds(usec / 2);
  }
}

void SystemdNotifier::send(std::string_view message) {
  // A failed notification is not actionable: the supervisor will notice the silence itself.
  std::string text(message);
  (void)sd_notify(0, text.c_str());
}

void SystemdNotifier::ready(std::string_view status) {
  send(std::string("READY=1\nSTATUS=").append(status));
}

void SystemdNotifier::status(std::string_view status) {
  send(std::string("STATUS=").append(status));
}

void SystemdNotifier::watchdogPing() {
  send("WATCHDOG=1");
}

void SystemdNotifier::stopping() {
  send("STOPPING=1");
}

}  // namespace seams
