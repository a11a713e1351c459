// RawHttp: one blocking HTTP/1.1 keep-alive connection over a plain TCP socket, for the flood
// generator. Small on purpose: it binds a chosen source address (so a test or a bench can play
// "another client address" on loopback: 127.0.0.2, 127.0.0.3, ...), bounds every send and read
// by a timeout, and reads only what the Seams server answers (Content-Length framed responses).
//
// A failed exchange (timeout, reset, close) closes the socket; the next request reconnects.
//
// Threading: one thread uses an instance at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace seams::floods {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};
// "HOST:PORT" (IPv4 only: loopback is where the floods run).
bool parseEndpoint(std::string_view text, Endpoint* out);

struct Reply {
  int status = 0;  // 0: no answer (connect failed, timeout, closed)
  std::string body;
  std::string retry_after;  // the Retry-After header, if any
};

class RawHttp {
 public:
  // `source`: the local address to bind ("" = the kernel's choice).
  RawHttp(Endpoint server, std::string source, std::chrono::milliseconds timeout);
  ~RawHttp();
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  Reply request(std::string_view method, std::string_view target, std::string_view token = {},
                std::string_view body = {});
  // POST /v1/login; the token on 200, "" otherwise (`status` gets the status).
  std::string login(std::string_view user, std::string_view password, int* status = nullptr);
  std::uint64_t connects() const { return connects_; }

 private:
  bool ensureConnected();
  void closeSocket();

  Endpoint server_;
  std::string source_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;
  std::uint64_t connects_ = 0;
};

// Opens a TCP connection (blocking, with the timeout) from `source`; -1 on failure.
int connectTo(const Endpoint& server, const std::string& source, std::chrono::milliseconds timeout);

}  // namespace seams::floods
