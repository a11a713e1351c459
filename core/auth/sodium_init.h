// libsodium must be initialised once per process before its random numbers and its fastest
// implementations are used; sodium_init() is safe to repeat but takes a lock, so it is run once.
#pragma once

#include <sodium.h>

namespace seams {

// True when libsodium is ready. Thread-safe.
inline bool ensureSodium() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace seams
