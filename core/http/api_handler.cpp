#include "core/http/api_handler.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/http/http_util.h"
#include "core/http/rule_json.h"

namespace seams::http {
namespace bhttp = boost::beast::http;
using Json = nlohmann::json;

namespace {

// Boost 1.74's Beast takes boost::string_view.
boost::beast::string_view bsv(std::string_view s) {
  return {s.data(), s.size()};
}

// Vault::read() returns at most the file's bytes; this asks for all of them.
constexpr std::uint64_t kToEnd = std::numeric_limits<std::uint64_t>::max();

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kOctets = "application/octet-stream";

// Statuses we answer, each with a metric slot; anything else shares the last one.
constexpr unsigned kSlotStatuses[] = {200, 204, 206, 304, 400, 401, 403, 404, 405, 408,
                                      409, 413, 416, 429, 431, 500, 501, 503, 507};
constexpr std::size_t kOtherSlot = std::size(kSlotStatuses);
static_assert(kOtherSlot < 20);

std::size_t statusSlot(unsigned status) noexcept {
  for (std::size_t i = 0; i < std::size(kSlotStatuses); ++i) {
    if (kSlotStatuses[i] == status) return i;
  }
  return kOtherSlot;
}

// Dumps without throwing on bytes that are not UTF-8 (a vault name may be any bytes).
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void setBody(Response& res, unsigned status, std::string_view type, std::string body) {
  res.result(status);
  res.set(bhttp::field::content_type, bsv(type));
  res.body() = std::move(body);
  res.content_length(res.body().size());
}

void sendJson(Response& res, unsigned status, const Json& j) {
  setBody(res, status, kJson, dump(j));
}

void sendStatus(Response& res, const Status& s) {
  unsigned status = static_cast<unsigned>(httpStatus(s.code()));
  ApiHandler::error(res, status, errcName(s.code()), s.message());
  if (status == 401) res.set(bhttp::field::www_authenticate, "Bearer");
}

void methodNotAllowed(Response& res, std::string_view allow) {
  ApiHandler::error(res, 405, errcName(Errc::not_supported), "method not allowed here");
  res.set(bhttp::field::allow, bsv(allow));
}

std::string_view tokenOf(const Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return {};
  return bearerToken(std::string_view(it->value().data(), it->value().size()));
}

Result<VaultPath> pathFrom(std::string_view rest) {
  Result<std::string> decoded = percentDecode(rest);
  if (!decoded.ok()) return decoded.status();
  return VaultPath::parse(*decoded);
}

void setVersionHeaders(Response& res, std::uint64_t version) {
  res.set(bhttp::field::etag, etagFor(version));
  res.set("X-Seams-Version", std::to_string(version));
}

std::string_view typeName(FileType t) {
  return t == FileType::directory ? "directory" : "file";
}

Json attrJson(const FileAttr& a) {
  return Json{{"type", typeName(a.type)}, {"size", a.size}, {"version", a.version},
              {"mtime_ns", a.mtime_ns},   {"mode", a.mode}, {"inode", a.inode}};
}

}  // namespace

std::string_view routeName(Route r) noexcept {
  switch (r) {
    case Route::login:
      return "/v1/login";
    case Route::logout:
      return "/v1/logout";
    case Route::files_get:
    case Route::files_head:
    case Route::files_put:
    case Route::files_delete:
      return "/v1/files";
    case Route::stat:
      return "/v1/stat";
    case Route::list:
      return "/v1/list";
    case Route::admin_grant:
      return "/v1/admin/grant";
    case Route::admin_revoke:
      return "/v1/admin/revoke";
    case Route::probe:
      return "/v1/probe";
    case Route::healthz:
      return "/healthz";
    case Route::readyz:
      return "/readyz";
    case Route::metrics:
      return "/metrics";
    case Route::unknown:
      return "unknown";
    case Route::malformed:
      return "malformed";
    case Route::kCount:
      break;
  }
  return "unknown";
}

std::string_view routeMethod(Route r) noexcept {
  switch (r) {
    case Route::login:
    case Route::logout:
    case Route::admin_grant:
    case Route::admin_revoke:
      return "POST";
    case Route::files_head:
      return "HEAD";
    case Route::files_put:
      return "PUT";
    case Route::files_delete:
      return "DELETE";
    case Route::unknown:
    case Route::malformed:
      return "any";
    default:
      return "GET";
  }
}

ApiHandler::ApiHandler(Vault& vault, Auth& auth, MetricsRegistry& metrics, ProbeLimits probe)
    : vault_(vault), auth_(auth), registry_(metrics), probe_limits_(probe) {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    Route r = static_cast<Route>(i);
    routes_[i].latency = &registry_.histogram(
        "seams_http_request_seconds", "HTTP request latency, request read to response written",
        {{"route", std::string(routeName(r))}, {"method", std::string(routeMethod(r))}});
  }
}

void ApiHandler::error(Response& res, unsigned status, std::string_view code,
                       std::string_view message) {
  sendJson(res, status, Json{{"error", message}, {"code", code}});
}

void ApiHandler::record(Route route, unsigned status, std::uint64_t elapsed_ns) noexcept {
  RouteMetrics& m = routes_[static_cast<std::size_t>(route)];
  m.latency->record(elapsed_ns);
  std::size_t slot = statusSlot(status);
  Counter* c = m.statuses[slot].load(std::memory_order_acquire);
  if (c == nullptr) {
    try {
      std::string code = slot == kOtherSlot ? "other" : std::to_string(kSlotStatuses[slot]);
      c = &registry_.counter("seams_http_responses_total", "HTTP responses by route and status",
                             {{"route", std::string(routeName(route))},
                              {"method", std::string(routeMethod(route))},
                              {"code", std::move(code)}});
    } catch (...) {
      return;  // out of memory: lose one count rather than the connection
    }
    m.statuses[slot].store(c, std::memory_order_release);
  }
  c->inc();
}

Route ApiHandler::handle(Request& req, Response& res) {
  Route route = dispatch(req, res);
  // An answer to HEAD never has content (RFC 9110 9.3.2), whatever the route or error answered:
  // on a kept-alive connection the client would read those bytes as the next response. The
  // headers stay as a GET would have them, Content-Length included.
  if (req.method() == bhttp::verb::head) res.body().clear();
  return route;
}

Route ApiHandler::dispatch(Request& req, Response& res) {
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  try {
    std::string_view target(req.target().data(), req.target().size());
    if (std::size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (!target.starts_with('/')) {
      error(res, 400, errcName(Errc::invalid_argument), "request target must be a path");
      return Route::unknown;
    }
    auto under = [&](std::string_view prefix, std::string_view* rest) {
      // "/v1/files" and "/v1/files/..." both match "/v1/files"; "/v1/filesx" does not.
      if (!target.starts_with(prefix)) return false;
      std::string_view r = target.substr(prefix.size());
      if (!r.empty() && r.front() != '/') return false;
      *rest = r;
      return true;
    };
    std::string_view rest;
    if (under("/v1/files", &rest)) return files(req, res, rest);
    if (under("/v1/stat", &rest)) return stat(req, res, rest);
    if (under("/v1/list", &rest)) return list(req, res, rest);
    if (target == "/v1/login") return login(req, res);
    if (target == "/v1/logout") return logout(req, res);
    if (target == "/v1/admin/grant") return admin(req, res, true);
    if (target == "/v1/admin/revoke") return admin(req, res, false);
    if (target == "/v1/probe") return probe(req, res);
    if (target == "/healthz") {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
        methodNotAllowed(res, "GET, HEAD");
        return Route::unknown;
      }
      setBody(res, 200, kJson, R"({"status":"ok"})");
      return Route::healthz;
    }
    if (target == "/readyz") return readyz(req, res);
    if (target == "/metrics") return metrics(req, res);
    error(res, 404, errcName(Errc::not_found), "no such endpoint");
    return Route::unknown;
  } catch (const std::exception& e) {
    // A bug or exhaustion on our side, never bad input: every parse above reports errors as values.
    res = Response();
    res.version(req.version());
    res.keep_alive(false);
    error(res, 500, errcName(Errc::internal), e.what());
    return Route::unknown;
  }
}

Result<ApiHandler::Authorized> ApiHandler::authorizeRequest(const Request& req,
                                                            std::string_view rest, Access access) {
  Result<VaultPath> path = pathFrom(rest);
  if (!path.ok()) return path.status();
  std::string_view token = tokenOf(req);
  if (token.empty()) return Status(Errc::unauthenticated, "missing bearer token");
  Result<Principal> who = auth_.authorize(token, *path, access);
  if (!who.ok()) return who.status();
  return Authorized{std::move(*path), std::move(*who)};
}

Status ApiHandler::makeParents(const Principal& who, const VaultPath& path) {
  std::vector<VaultPath> missing;
  for (VaultPath dir = path.parent(); !dir.isRoot(); dir = dir.parent()) {
    Result<FileAttr> attr = vault_.stat(dir);
    if (attr.ok()) {
      if (attr->type != FileType::directory) {
        return Status(Errc::not_a_directory, dir.str() + ": not a directory");
      }
      break;
    }
    if (attr.code() != Errc::not_found) return attr.status();
    missing.push_back(dir);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (Status s = auth_.check(who, *it, Access::write); !s.ok()) return s;
    Result<FileAttr> made = vault_.mkdir(*it, 0755);
    if (!made.ok() && made.code() != Errc::already_exists) return made.status();
  }
  return okStatus();
}

Route ApiHandler::files(Request& req, Response& res, std::string_view rest) {
  switch (req.method()) {
    case bhttp::verb::get:
      getFile(req, res, rest);
      return Route::files_get;
    case bhttp::verb::head:
      headFile(req, res, rest);
      return Route::files_head;
    case bhttp::verb::put:
      putFile(req, res, rest);
      return Route::files_put;
    case bhttp::verb::delete_:
      deleteFile(req, res, rest);
      return Route::files_delete;
    default:
      methodNotAllowed(res, "GET, HEAD, PUT, DELETE");
      return Route::unknown;
  }
}

void ApiHandler::getFile(Request& req, Response& res, std::string_view rest) {
  Result<Authorized> target = authorizeRequest(req, rest, Access::read);
  if (!target.ok()) return sendStatus(res, target.status());
  const VaultPath& path = target->path;

  RangeRequest range;
  if (auto it = req.find(bhttp::field::range); it != req.end()) {
    range = parseRange(std::string_view(it->value().data(), it->value().size()));
  }
  auto unsatisfiable = [&](std::string message) {
    sendStatus(res, Status(Errc::range_not_satisfiable, std::move(message)));
    if (Result<FileAttr> attr = vault_.stat(path); attr.ok()) {
      res.set(bhttp::field::content_range, "bytes */" + std::to_string(attr->size));
    }
  };
  if (range.kind == RangeRequest::Kind::invalid) return unsatisfiable("malformed Range header");

  std::uint64_t offset = 0;
  std::uint64_t length = kToEnd;
  if (range.kind == RangeRequest::Kind::single) {
    if (range.spec.kind == RangeSpec::Kind::suffix) {
      // The last n bytes: the size decides where they start.
      Result<FileAttr> attr = vault_.stat(path);
      if (!attr.ok()) return sendStatus(res, attr.status());
      std::optional<ByteRange> r = resolveRange(range.spec, attr->size);
      if (!r) return unsatisfiable("range outside the file");
      offset = r->first;
      length = r->length;
    } else {
      offset = range.spec.a;
      if (range.spec.kind == RangeSpec::Kind::from_to) length = range.spec.b - range.spec.a + 1;
    }
  }
  Result<ReadResult> data = vault_.read(path, offset, length);
  if (!data.ok()) {
    if (data.code() == Errc::range_not_satisfiable) return unsatisfiable(data.status().message());
    return sendStatus(res, data.status());
  }
  if (range.kind == RangeRequest::Kind::single && data->data.empty()) {
    return unsatisfiable("range outside the file");  // offset exactly at the end
  }
  std::string etag = etagFor(data->version);
  if (auto it = req.find(bhttp::field::if_none_match); it != req.end()) {
    if (ifNoneMatchHits(std::string_view(it->value().data(), it->value().size()), etag)) {
      res.result(304);
      setVersionHeaders(res, data->version);
      return;
    }
  }
  res.set(bhttp::field::etag, etag);
  res.set("X-Seams-Version", std::to_string(data->version));
  res.set(bhttp::field::accept_ranges, "bytes");
  if (range.kind == RangeRequest::Kind::single) {
    std::uint64_t last = offset + data->data.size() - 1;
    res.set(bhttp::field::content_range, "bytes " + std::to_string(offset) + "-" +
                                             std::to_string(last) + "/" +
                                             std::to_string(data->file_size));
    setBody(res, 206, kOctets, std::move(data->data));
  } else {
    setBody(res, 200, kOctets, std::move(data->data));
  }
}

void ApiHandler::headFile(Request& req, Response& res, std::string_view rest) {
  Result<Authorized> target = authorizeRequest(req, rest, Access::read);
  if (!target.ok()) return sendStatus(res, target.status());
  const VaultPath& path = target->path;
  Result<FileAttr> attr = vault_.stat(path);
  if (attr.ok() && attr->type == FileType::directory) {
    attr = Status(Errc::is_a_directory, path.str() + ": is a directory");
  }
  if (!attr.ok()) {
    // HEAD answers the status and headers a GET would, without the body.
    sendStatus(res, attr.status());
    res.body().clear();
    return;
  }
  res.result(200);
  setVersionHeaders(res, attr->version);
  res.set(bhttp::field::accept_ranges, "bytes");
  res.set(bhttp::field::content_type, bsv(kOctets));
  res.content_length(attr->size);
}

void ApiHandler::putFile(Request& req, Response& res, std::string_view rest) {
  Result<Authorized> target = authorizeRequest(req, rest, Access::write);
  if (!target.ok()) return sendStatus(res, target.status());
  const VaultPath& path = target->path;
  Result<FileAttr> attr = vault_.put(path, req.body());
  if (attr.code() == Errc::not_found) {
    // The API has no mkdir: a PUT creates the directories above the file, like an object
    // store's key, each only where the caller may write.
    if (Status s = makeParents(target->who, path); !s.ok()) return sendStatus(res, s);
    attr = vault_.put(path, req.body());
  }
  if (!attr.ok()) return sendStatus(res, attr.status());
  std::string etag = etagFor(attr->version);
  setVersionHeaders(res, attr->version);
  sendJson(
      res, 200,
      Json{{"path", path.str()}, {"version", attr->version}, {"size", attr->size}, {"etag", etag}});
}

void ApiHandler::deleteFile(Request& req, Response& res, std::string_view rest) {
  Result<Authorized> target = authorizeRequest(req, rest, Access::write);
  if (!target.ok()) return sendStatus(res, target.status());
  if (Status s = vault_.unlink(target->path); !s.ok()) return sendStatus(res, s);
  res.result(204);
}

Route ApiHandler::stat(Request& req, Response& res, std::string_view rest) {
  if (req.method() != bhttp::verb::get) {
    methodNotAllowed(res, "GET");
    return Route::unknown;
  }
  Result<Authorized> authorized = authorizeRequest(req, rest, Access::read);
  if (!authorized.ok()) {
    sendStatus(res, authorized.status());
    return Route::stat;
  }
  const VaultPath* path = &authorized->path;
  Result<FileAttr> attr = vault_.stat(*path);
  if (!attr.ok()) {
    sendStatus(res, attr.status());
    return Route::stat;
  }
  Json j = attrJson(*attr);
  j["path"] = path->str();
  setVersionHeaders(res, attr->version);
  sendJson(res, 200, j);
  return Route::stat;
}

Route ApiHandler::list(Request& req, Response& res, std::string_view rest) {
  if (req.method() != bhttp::verb::get) {
    methodNotAllowed(res, "GET");
    return Route::unknown;
  }
  Result<Authorized> authorized = authorizeRequest(req, rest, Access::list);
  if (!authorized.ok()) {
    sendStatus(res, authorized.status());
    return Route::list;
  }
  const VaultPath* path = &authorized->path;
  Result<std::vector<DirEntry>> entries = vault_.list(*path);
  if (!entries.ok()) {
    sendStatus(res, entries.status());
    return Route::list;
  }
  Json items = Json::array();
  for (const DirEntry& e : *entries) {
    Json j = attrJson(e.attr);
    j["name"] = e.name;
    items.push_back(std::move(j));
  }
  sendJson(res, 200, Json{{"path", path->str()}, {"entries", std::move(items)}});
  return Route::list;
}

bool ApiHandler::isLogin(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  return target == "/v1/login" && req.method() == bhttp::verb::post;
}

Result<ApiHandler::Credentials> ApiHandler::parseLogin(const Request& req) {
  Json body = Json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Status(Errc::invalid_argument, "body must be a JSON object");
  }
  auto user = body.find("user");
  auto password = body.find("password");
  if (user == body.end() || !user->is_string() || password == body.end() ||
      !password->is_string()) {
    return Status(Errc::invalid_argument, "body needs string \"user\" and \"password\"");
  }
  return Credentials{user->get_ref<const std::string&>(), password->get_ref<const std::string&>()};
}

void ApiHandler::answerLogin(Response& res, const Result<Session>& session) {
  if (!session.ok()) {
    sendStatus(res, session.status());
    return;
  }
  sendJson(res, 200, Json{{"token", session->token}, {"expires_at", session->expires_at_ms}});
}

Route ApiHandler::login(Request& req, Response& res) {
  if (req.method() != bhttp::verb::post) {
    methodNotAllowed(res, "POST");
    return Route::unknown;
  }
  Result<Credentials> credentials = parseLogin(req);
  if (!credentials.ok()) {
    sendStatus(res, credentials.status());
    return Route::login;
  }
  answerLogin(res, auth_.login(credentials->user, credentials->password));
  return Route::login;
}

Route ApiHandler::logout(Request& req, Response& res) {
  if (req.method() != bhttp::verb::post) {
    methodNotAllowed(res, "POST");
    return Route::unknown;
  }
  std::string_view token = tokenOf(req);
  if (token.empty()) {
    sendStatus(res, Status(Errc::unauthenticated, "missing bearer token"));
    return Route::logout;
  }
  if (Status s = auth_.logout(token); !s.ok()) {
    sendStatus(res, s);
    return Route::logout;
  }
  res.result(204);
  return Route::logout;
}

Route ApiHandler::admin(Request& req, Response& res, bool grant) {
  Route route = grant ? Route::admin_grant : Route::admin_revoke;
  if (req.method() != bhttp::verb::post) {
    methodNotAllowed(res, "POST");
    return Route::unknown;
  }
  std::string_view token = tokenOf(req);
  if (token.empty()) {
    sendStatus(res, Status(Errc::unauthenticated, "missing bearer token"));
    return route;
  }
  Result<Principal> who = auth_.validate(token);
  if (!who.ok()) {
    sendStatus(res, who.status());
    return route;
  }
  Json body = Json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    sendStatus(res, Status(Errc::invalid_argument, "body must be a JSON rule"));
    return route;
  }
  Result<Rule> rule = ruleFromJson(body);
  if (!rule.ok()) {
    sendStatus(res, rule.status());
    return route;
  }
  Status s = grant ? auth_.grant(*who, *rule) : auth_.revoke(*who, *rule);
  if (!s.ok()) {
    sendStatus(res, s);
    return route;
  }
  sendJson(res, 200, Json{{"rule", ruleToJson(*rule)}, {grant ? "granted" : "revoked", true}});
  return route;
}

Route ApiHandler::probe(Request& req, Response& res) {
  if (req.method() != bhttp::verb::get) {
    methodNotAllowed(res, "GET");
    return Route::unknown;
  }
  std::string_view token = tokenOf(req);
  if (token.empty()) {
    sendStatus(res, Status(Errc::unauthenticated, "missing bearer token"));
    return Route::probe;
  }
  if (Result<Principal> who = auth_.validate(token); !who.ok()) {
    sendStatus(res, who.status());
    return Route::probe;
  }
  std::string_view target(req.target().data(), req.target().size());
  const std::size_t q = target.find('?');
  Result<std::map<std::string, std::string>> query =
      parseQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  if (!query.ok()) {
    sendStatus(res, query.status());
    return Route::probe;
  }
  auto bad = [&](std::string message) {
    sendStatus(res, Status(Errc::invalid_argument, std::move(message)));
    return Route::probe;
  };
  for (const auto& [name, value] : *query) {
    if (name != "calls" && name != "work_us" && name != "bytes") {
      return bad("unknown query parameter \"" + name + "\" (known: calls, work_us, bytes)");
    }
  }
  // Each of K, W, B: present, a decimal count, within [lo, the config's limit].
  std::uint64_t values[3] = {};
  const struct {
    const char* name;
    std::uint64_t lo, hi;
    const char* key;
  } params[3] = {{"calls", 1, probe_limits_.max_calls, "probe.max_calls"},
                 {"work_us", 0, probe_limits_.max_work_us, "probe.max_work_us"},
                 {"bytes", 0, probe_limits_.max_reply_bytes, "probe.max_reply_bytes"}};
  for (int i = 0; i < 3; ++i) {
    auto it = query->find(params[i].name);
    if (it == query->end()) {
      return bad(std::string("missing query parameter \"") + params[i].name +
                 "\" (GET /v1/probe?calls=K&work_us=W&bytes=B)");
    }
    std::optional<std::uint64_t> v = parseCount(it->second);
    if (!v) {
      return bad(std::string(params[i].name) + " must be a non-negative decimal integer (got \"" +
                 it->second + "\")");
    }
    if (*v < params[i].lo || *v > params[i].hi) {
      return bad(std::string(params[i].name) + " must be between " + std::to_string(params[i].lo) +
                 " and " + std::to_string(params[i].hi) + " (" + params[i].key + "; got " +
                 std::to_string(*v) + ")");
    }
    values[i] = *v;
  }
  const std::uint64_t calls = values[0], work_us = values[1], bytes = values[2];
  std::uint64_t received = 0, checksum = 0;
  double iterations_per_us = 0;
  for (std::uint64_t k = 0; k < calls; ++k) {
    Result<ProbeReply> reply = vault_.probe(work_us, bytes);
    if (!reply.ok()) {
      sendStatus(res, reply.status());
      return Route::probe;
    }
    received += reply->data.size();
    // Order-dependent, so K identical replies do not cancel out.
    checksum = checksum * 0x100000001B3ULL + probeChecksum(reply->data);
    iterations_per_us = reply->iterations_per_us;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(checksum));
  sendJson(res, 200,
           Json{{"calls", calls},
                {"work_us", work_us},
                {"bytes", bytes},
                {"bytes_received", received},
                {"checksum", hex},
                {"iterations_per_us", iterations_per_us}});
  return Route::probe;
}

Route ApiHandler::readyz(Request& req, Response& res) {
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    methodNotAllowed(res, "GET, HEAD");
    return Route::unknown;
  }
  // Ready when the vault answers: in split, this is the round trip to seam-fsd.
  if (Result<FileAttr> root = vault_.stat(VaultPath::root()); !root.ok()) {
    Status s = root.code() == Errc::unavailable
                   ? root.status()
                   : Status(Errc::unavailable, "vault: " + root.status().toString());
    sendStatus(res, s);
    return Route::readyz;
  }
  setBody(res, 200, kJson, R"({"status":"ready"})");
  return Route::readyz;
}

Route ApiHandler::metrics(Request& req, Response& res) {
  if (req.method() != bhttp::verb::get) {
    methodNotAllowed(res, "GET");
    return Route::unknown;
  }
  setBody(res, 200, "text/plain; version=0.0.4", registry_.renderPrometheus());
  return Route::metrics;
}

}  // namespace seams::http
