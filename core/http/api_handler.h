// ApiHandler: the HTTP API of DESIGN.md "Frontends", one request in, one response out.
//
// It knows nothing of sockets: HttpFrontend's connections read a request, call handle(), write
// the response and then call record() with the time the exchange took. Tests of the API go
// through a real socket all the same (tests/core/http), but the split keeps each half readable.
//
// Routes (paths after the prefix are vault paths, percent-decoded once, then VaultPath::parse):
//   POST   /v1/login          {"user","password"} -> {"token","expires_at"}   (no token needed)
//   POST   /v1/logout         ends the bearer token's session -> 204
//   GET    /v1/files/{path}   content; Range; ETag and X-Seams-Version; If-None-Match -> 304
//   HEAD   /v1/files/{path}   the same headers, no body
//   PUT    /v1/files/{path}   whole-file atomic replace (write) -> {"path","version","size","etag"}
//   DELETE /v1/files/{path}   unlink (write) -> 204
//   GET    /v1/stat/{path}    attributes as JSON (read)
//   GET    /v1/list/{path}    entries as JSON (list)
//   POST   /v1/admin/grant    rule JSON (rule_json.h) -> Auth::grant with the caller's principal
//   POST   /v1/admin/revoke   rule JSON -> Auth::revoke
//   GET    /v1/probe?calls=K&work_us=W&bytes=B   K calls of Vault::probe(W, B) in sequence (any
//                             valid session; K, W, B within the config's [probe], else 400)
//                             -> {"calls","work_us","bytes","bytes_received","checksum",
//                                 "iterations_per_us"}: small, so only the seam carries B
//   GET    /healthz /readyz /metrics
// Errors are {"error": message, "code": errcName} with httpStatus(code); a known path with
// another method is 405 with Allow.
//
// Thread-safety: handle() and record() may be called concurrently from any thread; the object is
// immutable after construction except for the lock-free metric slots (atomics).
#pragma once

#include <array>
#include <atomic>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string_view>

#include "core/auth/auth.h"
#include "core/config/config.h"
#include "core/stats/metrics.h"
#include "core/vault/vault.h"

namespace seams::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Metrics are kept per route; `malformed` is a request the connection could not parse at all
// (400, 413, 431: the handler never saw it), `unknown` a parsed request for no known path.
enum class Route : std::uint8_t {
  login,
  logout,
  files_get,
  files_head,
  files_put,
  files_delete,
  stat,
  list,
  admin_grant,
  admin_revoke,
  probe,
  healthz,
  readyz,
  metrics,
  unknown,
  malformed,
  kCount,
};

class ApiHandler {
 public:
  // Vault, Auth and metrics must outlive the handler (they live in the process's Deps). `probe`
  // bounds GET /v1/probe (the config's [probe]).
  ApiHandler(Vault& vault, Auth& auth, MetricsRegistry& metrics, ProbeLimits probe = {});
  ApiHandler(const ApiHandler&) = delete;
  ApiHandler& operator=(const ApiHandler&) = delete;

  // Fills `res` (which the caller has cleared) for `req`; keep-alive follows the request. Never
  // throws. `req.body()` may be moved from.
  Route handle(Request& req, Response& res);

  // Counts the answered status and records the exchange's duration under the route.
  void record(Route route, unsigned status, std::uint64_t elapsed_ns) noexcept;

  // An error response for statuses found outside handle() (malformed request, size limits).
  static void error(Response& res, unsigned status, std::string_view code,
                    std::string_view message);

  // POST /v1/login in two halves, so the frontend can run the password check off its request
  // threads (LoginGate): the credentials from the JSON body (invalid_argument when malformed),
  // and the response for the check's outcome.
  struct Credentials {
    std::string user;
    std::string password;
  };
  static bool isLogin(const Request& req);
  static Result<Credentials> parseLogin(const Request& req);
  static void answerLogin(Response& res, const Result<Session>& session);

 private:
  struct RouteMetrics {
    Histogram* latency = nullptr;
    // One slot per answered status (see statusSlot()), filled on first use: the registry locks
    // only then, and hands every thread the same counter.
    std::array<std::atomic<Counter*>, 20> statuses{};
  };

  // The vault path after the route prefix, the bearer token, and one Auth::authorize() call:
  // the checks every file route starts with.
  struct Authorized {
    VaultPath path;
    Principal who;
  };
  // handle() without the HEAD rule: routes the request and fills the response.
  Route dispatch(Request& req, Response& res);
  Result<Authorized> authorizeRequest(const Request& req, std::string_view rest, Access access);
  // /v1/files: routes by method to one of the four below, each of which authorizes the path
  // (read for GET and HEAD, write for PUT and DELETE) and fills the response.
  Route files(Request& req, Response& res, std::string_view rest);
  // The content, or the Range asked for (206; 416 with the size when outside the file); 304 when
  // If-None-Match names the current version.
  void getFile(Request& req, Response& res, std::string_view rest);
  // GET's status and headers, Content-Length included, without the body.
  void headFile(Request& req, Response& res, std::string_view rest);
  void putFile(Request& req, Response& res, std::string_view rest);
  void deleteFile(Request& req, Response& res, std::string_view rest);
  // PUT into a directory that does not exist yet: creates the missing directories above `path`.
  Status makeParents(const Principal& who, const VaultPath& path);
  Route stat(Request& req, Response& res, std::string_view rest);
  Route list(Request& req, Response& res, std::string_view rest);
  Route login(Request& req, Response& res);
  Route logout(Request& req, Response& res);
  Route admin(Request& req, Response& res, bool grant);
  // GET /v1/probe: the session first (401 before any 400), then K, W and B from the query.
  Route probe(Request& req, Response& res);
  Route readyz(Request& req, Response& res);
  Route metrics(Request& req, Response& res);

  Vault& vault_;
  Auth& auth_;
  MetricsRegistry& registry_;
  const ProbeLimits probe_limits_;
  std::array<RouteMetrics, static_cast<std::size_t>(Route::kCount)> routes_;
};

std::string_view routeName(Route r) noexcept;
std::string_view routeMethod(Route r) noexcept;

}  // namespace seams::http
