// fuzzHttp: the bytes of one client connection into the real HttpFrontend (core/http), serving
// on a loopback port with its own worker thread, exactly as seamd runs it: Beast's parser with
// the frontend's limits, keep-alive and pipelining, the frontend's framing, routing and the
// ApiHandler, down to the Vault and Auth calls (MemoryVault, MemoryAuth). Nothing in core/http is
// replaced or re-implemented here.
//
// Invariants checked on what comes back: the server closes the connection once the client has
// finished (no hang), every answer is well-formed HTTP/1.x, and no answer is a 5xx (the fakes
// never fail, so a 5xx is the frontend's own fault with a client's input; DESIGN.md: "never a 500
// for bad input").
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "core/http/http_frontend.h"
#include "core/stats/metrics.h"
#include "tests/fuzz/exchange.h"
#include "tests/fuzz/harness.h"
#include "tests/fuzz/memory_auth.h"
#include "tests/fuzz/memory_vault.h"

namespace seams::fuzz {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t kMaxHeader = 4096;
constexpr std::size_t kMaxBody = 16 * 1024;

struct Server {
  MemoryVault vault;
  MemoryAuth auth;
  MetricsRegistry metrics;
  std::unique_ptr<HttpFrontend> frontend;
  Status started;

  Server() {
    HttpConfig config;
    config.listen = "127.0.0.1:0";
    config.threads = 1;
    // Small limits, so the fuzzer reaches 413 and 431 with inputs of a few KiB.
    config.max_header_bytes = kMaxHeader;
    config.max_body_bytes = kMaxBody;
    config.read_timeout_ms = 5000;
    config.idle_timeout_ms = 5000;
    // One frontend serves every input, all from 127.0.0.1: with the shipped throttle, failed
    // logins of earlier inputs would make later ones wait (a held 429 is 1 s, and an input can
    // pipeline dozens), so an input's answer and time would depend on the history. Throttling
    // only after 1000 failures, with the 429 sent at once, keeps each input's run its own; the
    // throttle has unit tests and a flood test of its own (http_login_test, http_frontend_test).
    config.login_free_failures_per_address = 1000;
    config.login_free_failures_per_user = 1000;
    config.login_hold_ms = 0;
    frontend = std::make_unique<HttpFrontend>(vault, auth, metrics, config);
    started = frontend->start();
  }
};

Server& server() {
  static Server* s = new Server();  // lives until exit: libFuzzer may exit from any callback
  return *s;
}

// The methods of the requests in `input`, in order, as far as they parse: which answers are to a
// HEAD (and so have no body whatever their Content-Length says).
std::vector<bhttp::verb> requestMethods(std::string_view input) {
  std::vector<bhttp::verb> out;
  while (!input.empty()) {
    bhttp::request_parser<bhttp::string_body> p;
    p.header_limit(kMaxHeader);
    p.body_limit(kMaxBody);
    p.eager(true);
    boost::beast::error_code ec;
    std::size_t used = p.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !p.is_done()) {
      if (p.is_header_done()) out.push_back(p.get().method());
      break;
    }
    out.push_back(p.get().method());
    input.remove_prefix(used);
  }
  return out;
}

Status checkResponses(std::string_view in, const std::vector<bhttp::verb>& methods,
                      std::string_view input) {
  std::size_t index = 0;  // final responses seen
  while (!in.empty()) {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64u << 20);
    p.eager(true);
    if (index < methods.size() && methods[index] == bhttp::verb::head) p.skip(true);
    boost::beast::error_code ec;
    std::size_t used = p.put(boost::asio::buffer(in.data(), in.size()), ec);
    if (ec == bhttp::error::need_more && p.is_header_done() && p.get().need_eof()) {
      p.put_eof(ec);  // a body that runs to the end of the stream
      used = in.size();
    }
    if (ec || !p.is_done()) {
      return Status(Errc::internal, "answer " + std::to_string(index) +
                                        " is not well-formed HTTP (" + ec.message() + ")");
    }
    const unsigned status = p.get().result_int();
    // 501 is the one 5xx a client can earn: a transfer coding we do not decode (RFC 9112 §6.1,
    // "gzip, chunked"). Every other 5xx is the server failing.
    if (status >= 500 && status != 501) {
      return Status(Errc::internal, "answer " + std::to_string(index) + " is " +
                                        std::to_string(status) + ": " + p.get().body());
    }
    if (status >= 200) ++index;
    in.remove_prefix(used);
  }
  (void)input;
  return okStatus();
}

}  // namespace

Status fuzzHttp(std::string_view input) {
  Server& s = server();
  if (!s.started.ok()) return Status(Errc::internal, "http frontend: " + s.started.message());
  s.vault.reset();
  s.auth.reset();

  // Non-blocking from the start: a connect() that a signal interrupts (libFuzzer's timers) goes
  // on in the background, and exchange() waits for it with the rest.
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::fromErrno(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.frontend->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    return Status::fromErrno(errno, "connect");
  }
  Result<std::string> answers = exchange(std::move(fd), input, std::chrono::seconds(10));
  if (!answers.ok()) return Status(Errc::internal, "http: " + answers.status().message());
  return checkResponses(*answers, requestMethods(input), input);
}

}  // namespace seams::fuzz
