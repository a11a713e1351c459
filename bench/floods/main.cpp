// seam-flood: hostile HTTP load against a running deployment (see bench/floods/README.md).
//
//   seam-flood login --http 127.0.0.1:8080 --user alice --password PW [--flooders 8] [--seconds 10]
//   seam-flood idle  --http 127.0.0.1:8080 --user alice --password PW [--idle 3000] [--seconds 30]
#include <CLI/CLI.hpp>
#include <csignal>

#include "bench/floods/floods.h"

int main(int argc, char** argv) {
  using namespace seams::floods;
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("seam-flood: login and idle-connection floods against a running deployment");
  app.require_subcommand(1);
  std::string http;
  std::string user;
  std::string password;
  std::string path = "/v1/files/README.md";
  int seconds = 0;

  LoginFloodOptions login;
  CLI::App* lf = app.add_subcommand("login", "wrong-password flood vs a logged-in client's GETs");
  lf->add_option("--http", http, "HOST:PORT of the deployment")->required();
  lf->add_option("--user", user, "the measuring client's user")->required();
  lf->add_option("--password", password, "its password")->required();
  lf->add_option("--flood-user", login.flood_user, "user the flood guesses (default --user)");
  lf->add_option("--flooders", login.flooders, "concurrent flooding clients")->default_val(8);
  lf->add_option("--seconds", seconds, "length of each measured phase")->default_val(10);
  lf->add_option("--path", path, "the cached GET target")->default_val(path);
  lf->add_option("--other-address", login.other_address, "source of the correct login");

  IdleFloodOptions idle;
  int interval_ms = 100;
  int timeout_ms = 2000;
  bool no_reconnect = false;
  CLI::App* idf = app.add_subcommand("idle", "idle-connection flood vs a normal client");
  idf->add_option("--http", http, "HOST:PORT of the deployment")->required();
  idf->add_option("--user", user, "the normal client's user")->required();
  idf->add_option("--password", password, "its password")->required();
  idf->add_option("--idle", idle.idle, "idle connections to hold")->default_val(3000);
  idf->add_option("--seconds", seconds, "how long the normal client runs")->default_val(30);
  idf->add_option("--interval-ms", interval_ms, "between its requests")->default_val(100);
  idf->add_option("--timeout-ms", timeout_ms, "a request unanswered after this failed")
      ->default_val(2000);
  idf->add_option("--path", path, "the GET target")->default_val(path);
  idf->add_flag("--no-reconnect", no_reconnect, "do not reopen connections the server closes");

  CLI11_PARSE(app, argc, argv);
  Endpoint server;
  if (!parseEndpoint(http, &server)) {
    std::fprintf(stderr, "seam-flood: --http: expected IPv4 HOST:PORT, got '%s'\n", http.c_str());
    return 64;
  }
  if (seconds < 1) {
    std::fprintf(stderr, "seam-flood: --seconds: must be at least 1\n");
    return 64;
  }
  if (lf->parsed()) {
    login.server = server;
    login.user = user;
    login.password = password;
    login.path = path;
    login.phase = std::chrono::seconds(seconds);
    if (login.flooders < 1 || login.flooders > 256) {
      std::fprintf(stderr, "seam-flood: --flooders: must be 1..256\n");
      return 64;
    }
    return runLoginFlood(login);
  }
  idle.server = server;
  idle.user = user;
  idle.password = password;
  idle.path = path;
  idle.duration = std::chrono::seconds(seconds);
  idle.interval = std::chrono::milliseconds(interval_ms);
  idle.timeout = std::chrono::milliseconds(timeout_ms);
  idle.reconnect = !no_reconnect;
  if (idle.idle < 1 || idle.idle > 100'000 || interval_ms < 1 || timeout_ms < 1) {
    std::fprintf(stderr, "seam-flood: --idle 1..100000, --interval-ms and --timeout-ms >= 1\n");
    return 64;
  }
  return runIdleFlood(idle);
}
