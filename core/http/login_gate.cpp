#include "core/http/login_gate.h"

#include <boost/beast/http/field.hpp>

namespace seams::http {

namespace bhttp = boost::beast::http;

LoginGate::LoginGate(Auth& auth, MetricsRegistry& metrics, LoginThrottle& throttle, int threads,
                     std::size_t queue_capacity)
    : auth_(auth),
      throttle_(throttle),
      throttled_address_(metrics.counter("seams_http_login_throttled_total",
                                         "Logins answered 429: the attempt must wait",
                                         {{"scope", "address"}})),
      throttled_user_(metrics.counter("seams_http_login_throttled_total",
                                      "Logins answered 429: the attempt must wait",
                                      {{"scope", "user"}})),
      queue_full_(metrics.counter("seams_http_login_queue_full_total",
                                  "Logins answered 503: every password-check slot was taken")),
      failures_(metrics.counter("seams_http_login_failures_total",
                                "Password checks that failed (unknown user or wrong password)")),
      queue_depth_(metrics.gauge("seams_http_login_queue_depth", "Password checks waiting")),
      pool_(threads, queue_capacity) {}

bool LoginGate::submit(const Request& req, Response& res, std::string address, Done done) {
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  Result<ApiHandler::Credentials> credentials = ApiHandler::parseLogin(req);
  if (!credentials.ok()) {
    ApiHandler::answerLogin(res, credentials.status());
    return true;
  }
  if (auto wait = throttle_.admit(credentials->user, address)) {
    (wait->scope == LoginThrottle::Scope::address ? throttled_address_ : throttled_user_).inc();
    auto seconds = (wait->remaining.count() + 999) / 1000;
    ApiHandler::error(res, 429, errcName(Errc::unavailable),
                      "too many failed logins: retry in " + std::to_string(seconds) + " s");
    res.set(bhttp::field::retry_after, std::to_string(seconds));
    return true;
  }
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  LoginPool::Job job = [this, credentials = std::move(*credentials), address = std::move(address),
                        done = std::move(done), version, keep_alive]() mutable {
    queue_depth_.set(static_cast<double>(pool_.queued()));
    Result<Session> session = auth_.login(credentials.user, credentials.password);
    if (session.ok()) {
      throttle_.succeeded(credentials.user, address);
    } else if (session.code() == Errc::unauthenticated) {
      failures_.inc();
      throttle_.failed(credentials.user, address);
    }
    Response out;
    out.version(version);
    out.keep_alive(keep_alive);
    ApiHandler::answerLogin(out, session);
    done(std::move(out));
  };
  if (!pool_.trySubmit(job)) {
    queue_full_.inc();
    ApiHandler::error(res, 503, errcName(Errc::unavailable),
                      "too many logins in progress: retry shortly");
    res.set(bhttp::field::retry_after, "1");
    return true;
  }
  queue_depth_.set(static_cast<double>(pool_.queued()));
  return false;
}

}  // namespace seams::http
