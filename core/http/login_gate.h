// LoginGate: POST /v1/login, off the request threads (issue 12, defect 2).
//
// On the request thread, submit() reads the credentials and asks the LoginThrottle; it answers
// at once when the body is malformed (400), when the attempt must wait (429 + Retry-After, no
// hash computed) or when the LoginPool's queue is full (503 + Retry-After: 1). Otherwise the
// password check (Auth::login: Argon2id here in seamd, an IPC call to seam-authd in split) runs
// on a pool thread, its outcome goes to the throttle, and `done` receives the response there;
// the connection posts it back to its own loop. Other routes never wait for a login.
//
// Unknown users and wrong passwords take the same path at the same cost: the throttle keys on
// the name as sent, and Auth verifies an unknown user against a dummy hash.
//
// Metrics (registered at construction):
//   seams_http_login_throttled_total{scope="address"|"user"}  attempts answered 429
//   seams_http_login_queue_full_total                         attempts answered 503
//   seams_http_login_failures_total                           checks that failed (401)
//   seams_http_login_queue_depth                              checks waiting (gauge)
//
// Lifecycle: one per HttpFrontend start (the throttle outlives it); stop() drops queued checks
// (their connections close unanswered) and waits for the running ones.
// Thread-safety: submit() from any thread; stop() from one controlling thread.
#pragma once

#include <functional>
#include <string>

#include "core/auth/auth.h"
#include "core/http/api_handler.h"
#include "core/http/login_pool.h"
#include "core/http/login_throttle.h"
#include "core/stats/metrics.h"

namespace seams::http {

class LoginGate {
 public:
  using Done = std::function<void(Response)>;

  // auth, metrics and throttle must outlive the gate.
  LoginGate(Auth& auth, MetricsRegistry& metrics, LoginThrottle& throttle, int threads,
            std::size_t queue_capacity);

  // REQUIRES: ApiHandler::isLogin(req). True when `res` holds the answer now; false when the
  // check was queued and `done` will be called (once, on a pool thread). `address` is the
  // client's IP address as text.
  bool submit(const Request& req, Response& res, std::string address, Done done);
  void stop() { pool_.stop(); }

 private:
  Auth& auth_;
  LoginThrottle& throttle_;
  Counter& throttled_address_;
  Counter& throttled_user_;
  Counter& queue_full_;
  Counter& failures_;
  Gauge& queue_depth_;
  LoginPool pool_;  // last: its threads use the members above
};

}  // namespace seams::http
