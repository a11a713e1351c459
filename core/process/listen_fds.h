// Listening sockets handed from one process to the next: the systemd socket-activation protocol
// (sd_listen_fds(3)), both sides of it.
//
// Why: a socket that a supervisor holds outlives the process serving it. While the server is
// stopped and its successor starts, the kernel queues new connections in the socket's backlog
// instead of refusing them, so a restart or an upgrade refuses no connection. systemd does it
// for seamd (mono/seamd.socket); seam-split does it for its daemons (it holds seam-httpd's HTTP
// listener); seam-bench and the tests do it as systemd would.
//
// The protocol: the sockets are fds 3, 4, ... (SD_LISTEN_FDS_START) of the new process, which
// finds LISTEN_FDS=<count>, LISTEN_PID=<its own pid> and LISTEN_FDNAMES=<name>:<name>:... in its
// environment. Seams names its sockets by role: "http" is the HTTP API's listener.
//
//   receiving  InheritedSockets::fromEnvironment() once, at the start of main(), before any
//              thread exists (it unsets the variables, so no child of ours sees them, and marks
//              the fds close-on-exec, so no child inherits them); then take("http").
//   passing    SpawnOptions::listen_fds (child_process.h): ChildProcess::spawn() moves them to
//              3, 4, ... in the child and sets the three variables, LISTEN_PID to the child's
//              pid. Only that child gets them; every other fd of ours is close-on-exec.
//
// Thread-safety: fromEnvironment() before any other thread runs; the rest are plain values and
// free functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"
#include "core/common/unique_fd.h"

namespace seams {

// The name of the HTTP API's listening socket in LISTEN_FDNAMES (FileDescriptorName=http).
inline constexpr char kHttpListenerName[] = "http";

// One socket to pass to a child: `fd` stays ours (borrowed for the spawn), `name` goes into
// LISTEN_FDNAMES (letters, digits, '.', '_' and '-': no ':').
struct PassedSocket {
  int fd = -1;
  std::string name;
};

// ok if `fd` is a listening stream socket (SOCK_STREAM, listen() called) of one of `families`
// (AF_INET, AF_INET6, AF_UNIX); else invalid_argument naming `what` and what the fd is instead
// (a pipe, a datagram socket, a socket nobody called listen() on, the wrong family).
Status checkListeningSocket(int fd, const std::vector<int>& families, std::string_view what);

// "127.0.0.1:8080", "[::1]:8080": the address a socket is bound to; "?" when unknown.
std::string socketAddress(int fd);

// A TCP socket bound to `listen` ("HOST:PORT", HOST an IPv4 or bracketed IPv6 address, as
// http.listen), listening, close-on-exec, SO_REUSEADDR. invalid_argument for a bad address,
// unavailable when it cannot be bound.
Result<UniqueFd> listenTcp(std::string_view listen);

class InheritedSockets {
 public:
  InheritedSockets() = default;

  // The sockets passed to this process, if LISTEN_PID names it (else none: they were meant for
  // someone else, e.g. variables a shell exported). Unsets LISTEN_FDS, LISTEN_PID and
  // LISTEN_FDNAMES and makes every passed fd close-on-exec. Every fd must be a listening stream
  // socket: invalid_argument otherwise, naming the fd and what it is. An fd without a name
  // (LISTEN_FDNAMES absent or short) is named "unknown", as systemd does.
  static Result<InheritedSockets> fromEnvironment();

  bool empty() const { return sockets_.empty(); }
  // Names of the sockets not taken yet, in fd order.
  std::vector<std::string> names() const;
  // Removes and returns the socket called `name` (an invalid UniqueFd when there is none).
  // invalid_argument when several have that name, or it is not a socket of `families`.
  Result<UniqueFd> take(std::string_view name, const std::vector<int>& families);

 private:
  std::vector<std::pair<std::string, UniqueFd>> sockets_;
};

}  // namespace seams
