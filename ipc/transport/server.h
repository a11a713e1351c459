// What every server adapter is configured with and offers, whatever its codec: the factory
// (ipc/factory/factory.h) hands a server out as a std::unique_ptr<Server>.
//
// Thread-safety: adopt() and counters() from any thread; destroy from one.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/common/status.h"
#include "ipc/net/connection_vault.h"
#include "ipc/net/unix_socket.h"

namespace seams::ipc {

struct ServerOptions {
  std::string socket_path;                    // empty: serve only adopt()ed connections
  std::size_t max_message_bytes = 96u << 20;  // above http.max_body_bytes (64 MiB) plus framing
  // protobuf: how long a write to a client that stops reading may block (SO_SNDTIMEO).
  std::chrono::milliseconds write_timeout{5000};
  std::size_t max_open_handles = kDefaultMaxOpenHandles;  // per client; too_many_open above
};

class Server {
 public:
  // Stops listening, closes every connection and joins the server's threads.
  virtual ~Server() = default;
  // Serves an already-connected socket (one end of a socketpair); its peer is checked like an
  // accepted one.
  virtual Status adopt(UniqueFd fd) = 0;
  virtual ServerCounters counters() const = 0;
};

}  // namespace seams::ipc
