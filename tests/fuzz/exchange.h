// exchange(): one client connection's whole life, as the socket-serving harnesses need it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "core/common/unique_fd.h"

namespace seams::fuzz {

// Sends `out` on the socket `fd` (connected, or non-blocking with its connect() under way), then
// half-closes it (the server sees end of stream) and reads everything the server sends until it
// closes its side. Reading and writing are interleaved, so a server that answers while the client
// still sends never blocks either side. `timeout` (errc timeout) means the server kept the
// connection open after the client finished.
Result<std::string> exchange(UniqueFd fd, std::string_view out, std::chrono::milliseconds timeout);

// A connected AF_UNIX stream socketpair, both ends close-on-exec.
Status socketPair(UniqueFd* a, UniqueFd* b);

}  // namespace seams::fuzz
