// The versions of the codec libraries this binary was built against, for a measurement's context:
// a per-call figure of a codec means little without the library behind it (Cap'n Proto 0.9.2 and
// 1.1.0 differ by about 2x per call in the pinned IPC ladder, ipc/README.md).
//
// Compile-time versions (the headers' macros), which for statically linked Cap'n Proto is also what
// runs. Threading: pure, callable from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace seams::bench {

// {"capnp": "1.1.0", "protobuf": "3.21.12", ...}: one entry per codec library, its version as
// "major.minor.micro".
nlohmann::json codecVersions();
// Which Cap'n Proto the build chose (CMake's SEAMS_CAPNP): "bundled" (1.1.0 from scripts/capnp.sh)
// or "system" (Debian's package).
std::string capnpSource();
// One line for a text context: "capnp 1.1.0 (bundled), protobuf 3.21.12".
std::string codecVersionsLine();

}  // namespace seams::bench
