#include "bench/machine/pm_qos.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>

namespace seams::bench {

PmQosHold PmQosHold::disabled(std::string reason) {
  return PmQosHold(UniqueFd(), false, kCpuDmaLatencyPath, 0, std::move(reason));
}

PmQosHold PmQosHold::acquire(const std::string& device, std::int32_t max_latency_us) {
  UniqueFd fd(::open(device.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return PmQosHold(UniqueFd(), true, device, max_latency_us,
                     device + ": " + std::strerror(errno) +
                         " (not held: figures include idle-CPU "
                         "wake-ups)");
  }
  // The device takes the value as a raw 4-byte integer (or a hex string); a short write is
  // refused by the kernel, so anything but 4 bytes is a failure.
  if (::write(fd.get(), &max_latency_us, sizeof max_latency_us) != sizeof max_latency_us) {
    return PmQosHold(UniqueFd(), true, device, max_latency_us,
                     device + ": write: " + std::strerror(errno) +
                         " (not held: figures include idle-CPU wake-ups)");
  }
  return PmQosHold(std::move(fd), true, device, max_latency_us,
                   "held at " + std::to_string(max_latency_us) + " us");
}

nlohmann::json PmQosHold::toJson() const {
  return {{"requested", requested_},
          {"held", held()},
          {"device", device_},
          {"max_latency_us", us_},
          {"status", why_}};
}

PmQosHold holdPmQos(const PmQosRequest& request) {
  if (!request.enabled) return PmQosHold::disabled("disabled (--no-pm-qos)");
  return PmQosHold::acquire(request.device, request.max_latency_us);
}

int whileHoldingPmQos(const PmQosRequest& request,
                      const std::function<int(const PmQosHold&)>& body) {
  PmQosHold hold = holdPmQos(request);
  try {
    return body(hold);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: an unknown exception\n";
  }
  return 1;
}

}  // namespace seams::bench
