// touchLogRegistry(): call on the thread that starts an IPC loop or accept thread, before it does.
//
// Why: spdlog's registry is a function-local static inside libspdlog.so. When two loop threads log
// for the first time at the same moment, both run its guarded initialisation; ThreadSanitizer
// cannot see that guard (the library is not instrumented) and reports a data race. Touching the
// registry first, on the starting thread, orders its construction before every thread it starts.
#pragma once

#include <spdlog/spdlog.h>

namespace seams::ipc {

inline void touchLogRegistry() {
  (void)spdlog::default_logger_raw();
}

}  // namespace seams::ipc
