// seamctl, as a library function so tests run it in-process against a test server.
//
//   seamctl [--socket PATH | --config FILE] [--json] [--timeout S]
//           status | stats | caches | restart NAME | fault NAME KIND | stop | wait [SECONDS] [--pid
//           P]
//
// The control socket is --socket, else the control_socket of --config FILE, else that of
// ./seams.toml when it exists. `wait` polls until the socket answers and every row of `status`
// is running (a deployment that is READY), failing after SECONDS (60), at once if --pid P exits
// or if the socket answered once and then went away.
//   seamctl init DIR [--http HOST:PORT] [--mount PATH] [--codec capnp|protobuf|grpc]
//                    [--coherence off|ttl|push] [--faults]
//
// Output is a readable table (or text) by default and JSON with --json. Errors go to `err` as
// "seamctl: MESSAGE". Exit codes: 0 done, 1 the command failed, 2 bad usage.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/control/control_target.h"

namespace seams {

int runSeamctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

std::string formatStatusTable(const std::vector<ControlRow>& rows);
nlohmann::json statusToJson(const std::vector<ControlRow>& rows);
std::string formatCachesTable(const std::vector<CacheEntryRow>& rows);
nlohmann::json cachesToJson(const std::vector<CacheEntryRow>& rows);
// Prometheus text exposition -> {"metrics": [{"name", "labels": {...}, "value"}, ...]}.
nlohmann::json prometheusToJson(std::string_view text);

}  // namespace seams
