// HttpClient: one keep-alive HTTP/1.1 connection, synchronous, on Boost.Beast.
//
// The bench's own client, so every request is timed by the caller around one call with nothing
// else in between (no shared event loop, no queue). A failed request closes the connection; the
// next request reconnects.
//
// Threading: one thread uses an instance at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace seams::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::uint64_t version = 0;  // X-Seams-Version, 0 when absent
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void setToken(std::string token) { token_ = std::move(token); }
  // method: "GET", "PUT", "POST", "HEAD", "DELETE".
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view content_type = {});
  // POST /v1/login; the token, or an error.
  Result<std::string> login(const std::string& user, const std::string& password);
  std::uint64_t reconnects() const { return reconnects_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string token_;
  std::uint64_t reconnects_ = 0;
};

}  // namespace seams::bench
