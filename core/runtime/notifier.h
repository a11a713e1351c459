// Notifier: telling an outer supervisor how we are doing (the systemd notify protocol).
//
// SystemdNotifier speaks it through libsystemd's sd_notify() on $NOTIFY_SOCKET: READY=1 once every
// service runs, STATUS= lines, WATCHDOG=1 pings (the ServiceManager sends them at half of
// $WATCHDOG_USEC, and only while every service is healthy, so a wedged daemon is killed and
// restarted by systemd) and STOPPING=1. Without $NOTIFY_SOCKET every call is a no-op, so seamd runs
// unchanged outside systemd; seam-split owns a NOTIFY_SOCKET for its daemons and reads the same
// messages.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <string_view>

namespace seams {

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void ready(std::string_view status) = 0;
  virtual void status(std::string_view status) = 0;
  virtual void watchdogPing() = 0;
  virtual void stopping() = 0;
  // How often watchdogPing() must be called: half of the supervisor's watchdog timeout, or zero
  // when the supervisor does not watch us.
  virtual std::chrono::microseconds watchdogPingInterval() const = 0;
};

class SystemdNotifier final : public Notifier {
 public:
  // Reads $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID now (the environment is left as it is,
  // so child processes started later decide for themselves).
  SystemdNotifier();
  void ready(std::string_view status) override;
  void status(std::string_view status) override;
  void watchdogPing() override;
  void stopping() override;
  std::chrono::microseconds watchdogPingInterval() const override { return ping_interval_; }

 private:
  void send(std::string_view message);
  std::chrono::microseconds ping_interval_{0};
};

}  // namespace seams
