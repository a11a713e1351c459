// PM QoS: keep idle CPUs out of deep sleep for the length of a measurement.
//
// These VMs idle their vCPUs through the haltpoll cpuidle driver with guest_halt_poll_ns = 0: a
// vCPU with nothing to do halts at once, and waking it costs tens of microseconds. Every figure
// at low concurrency (c1 latencies, drift lags, the IPC ladder) then measures wake-ups more than
// code. The kernel's PM QoS interface lets a process ask for a CPU wake-up latency bound: write a
// 32-bit value (microseconds) to /dev/cpu_dma_latency and keep the fd open; the request stands
// exactly as long as the fd does, and closing it (or the process ending in any way, a crash
// included) withdraws it. A bound of 0 keeps idle CPUs polling instead of halting, as cyclictest
// does. See Documentation/power/pm_qos_interface.rst.
//
// Threading: a PmQosHold is a value owned by one thread; the kernel request it holds is global.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/common/unique_fd.h"

namespace seams::bench {

inline constexpr const char* kCpuDmaLatencyPath = "/dev/cpu_dma_latency";

class PmQosHold {
 public:
  // Not holding anything, with the reason recorded: "disabled (--no-pm-qos)".
  static PmQosHold disabled(std::string reason);
  // Opens `device`, writes `max_latency_us` (a binary int32, as the device expects) and keeps the
  // fd. When the device is missing or not writable the hold is empty and why() says so; the
  // caller measures anyway and records it.
  static PmQosHold acquire(const std::string& device = kCpuDmaLatencyPath,
                           std::int32_t max_latency_us = 0);

  PmQosHold(PmQosHold&&) noexcept = default;
  PmQosHold& operator=(PmQosHold&&) noexcept = default;
  ~PmQosHold() = default;  // closing the fd withdraws the request

  bool held() const noexcept { return fd_.valid(); }
  int fd() const noexcept { return fd_.get(); }
  // "held at 0 us", "disabled (--no-pm-qos)", "/dev/cpu_dma_latency: No such file or directory".
  const std::string& why() const noexcept { return why_; }
  // Withdraws the request now (the destructor does the same).
  void release() noexcept { fd_.reset(); }

  // {"requested": bool, "held": bool, "device", "max_latency_us", "status": why()}
  nlohmann::json toJson() const;

 private:
  PmQosHold(UniqueFd fd, bool requested, std::string device, std::int32_t us, std::string why)
      : fd_(std::move(fd)),
        requested_(requested),
        device_(std::move(device)),
        us_(us),
        why_(std::move(why)) {}

  UniqueFd fd_;
  bool requested_ = false;
  std::string device_;
  std::int32_t us_ = 0;
  std::string why_;
};

// What a program was asked for: --no-pm-qos clears `enabled`; tests point `device` elsewhere.
struct PmQosRequest {
  bool enabled = true;
  std::string device = kCpuDmaLatencyPath;
  std::int32_t max_latency_us = 0;
};
PmQosHold holdPmQos(const PmQosRequest& request);

// Runs `body` with the hold standing and withdraws it as soon as body returns or throws, so the
// request covers the whole measurement and nothing after it. An exception from body is reported
// on stderr and becomes exit code 1 (it never escapes). The process ending any other way (a
// signal, a crash) closes the fd too: the kernel withdraws the request.
int whileHoldingPmQos(const PmQosRequest& request,
                      const std::function<int(const PmQosHold&)>& body);

}  // namespace seams::bench
