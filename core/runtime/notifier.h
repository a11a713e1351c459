// Notifier: telling an outer supervisor how we are doing (the systemd notify protocol).
//
// SystemdNotifier speaks it on $NOTIFY_SOCKET: READY=1 once every
// service runs, STATUS= lines, WATCHDOG=1 pings (the ServiceManager sends them at half of
// $WATCHDOG_USEC, and only while every service is healthy, so a wedged daemon is killed and
// restarted by systemd) and STOPPING=1. Without $NOTIFY_SOCKET every call is a no-op, so seamd runs
// unchanged outside systemd; seam-split owns a NOTIFY_SOCKET for its daemons and reads the same
// messages.
//
// Why not libsystemd's sd_notify(): it sends on a blocking socket, so a supervisor that stops
// reading its NOTIFY_SOCKET (a full queue) blocks the caller, and the caller here is the
// watchdog thread, which must never block (seam-bench caught exactly that: a launcher frozen
// mid-restart). The protocol is one datagram to the address in $NOTIFY_SOCKET; we send it
// non-blocking and, when the queue is full, retry briefly (READY=1 up to 2 s, STOPPING=1 200 ms,
// STATUS and WATCHDOG not at all) and then drop it, counted in dropped().
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cstdint>
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
  // Messages dropped because the supervisor's queue stayed full.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void send(std::string_view message,
            std::chrono::milliseconds patience = std::chrono::milliseconds(0));
  std::chrono::microseconds ping_interval_{0};
  sockaddr_un address_{};
  socklen_t address_len_ = 0;  // 0: no $NOTIFY_SOCKET, every call is a no-op
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace seams
