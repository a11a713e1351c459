// seam-flood's scenarios: hostile load against a running deployment's HTTP port, each reporting
// what a well-behaved client saw meanwhile. See bench/floods/README.md for the method.
#pragma once

#include <chrono>
#include <string>

#include "bench/floods/raw_http.h"

namespace seams::floods {

struct LoginFloodOptions {
  Endpoint server;
  std::string user;                // the measuring client's user (logged in before the flood)
  std::string password;            // its correct password
  std::string flood_user;          // the user the flood guesses passwords for ("" = user)
  int flooders = 8;                // concurrent clients sending wrong passwords, closed loop
  std::chrono::seconds phase{10};  // length of the unloaded and of the loaded measurement
  std::string path = "/v1/files/README.md";  // the cached GET the measuring client repeats
  std::string client_address = "127.0.0.1";  // source of the measuring client
  std::string flood_address = "127.0.0.1";   // source of every flooder (one attacker)
  std::string other_address = "127.0.0.2";   // source of the correct login during the flood
};

struct IdleFloodOptions {
  Endpoint server;
  std::string user;
  std::string password;
  int idle = 3000;                          // idle connections held open
  bool reconnect = true;                    // reopen one the server closes, as an attacker would
  std::chrono::seconds duration{30};        // how long the normal client runs
  std::chrono::milliseconds interval{100};  // between the normal client's requests
  std::chrono::milliseconds timeout{2000};  // a request unanswered after this failed
  std::string path = "/v1/files/README.md";
  std::string flood_address = "127.0.0.1";
  std::string client_address = "127.0.0.3";
};

// Both print one JSON object on stdout and return a process exit code (0 when measured,
// whatever the figures; non-zero when the scenario could not run, e.g. the first login failed).
int runLoginFlood(const LoginFloodOptions& options);
int runIdleFlood(const IdleFloodOptions& options);

}  // namespace seams::floods
