// http_bench_server ROOT PORT THREADS [shared]: serves ROOT through HttpFrontend for wrk runs.
//
// Not a test: a harness for measuring the frontend against nginx before seamd exists. It logs in
// a user "bench" (read and list on /) and prints the bearer token on stdout, then serves until
// SIGINT or SIGTERM.
#include <signal.h>
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "core/auth/local_auth.h"
#include "core/cache/fs_cache.h"
#include "core/http/http_frontend.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"

int main(int argc, char** argv) {
  using namespace seams;
  if (argc < 4) {
    std::cerr << "usage: http_bench_server ROOT PORT THREADS [shared]\n";
    return 2;
  }
  if (sodium_init() < 0) return 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts

  auto storage = Storage::open(argv[1]);
  if (!storage.ok()) {
    std::cerr << storage.status().toString() << "\n";
    return 1;
  }
  SystemClock clock;
  FsCache cache(FsCache::Options{}, clock);
  LocalVault vault(**storage, cache);

  char hash[crypto_pwhash_STRBYTES];
  const std::string password = "bench";
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_MIN,
                        crypto_pwhash_MEMLIMIT_MIN) != 0) {
    return 1;
  }
  Rule rule;
  rule.subject = "bench";
  rule.prefix = VaultPath::root();
  rule.access = mask(Access::read) | mask(Access::list);
  auto auth = LocalAuth::create({{"bench", hash, std::nullopt, {}}}, {rule}, AuthConfig{}, clock);
  if (!auth.ok()) {
    std::cerr << auth.status().toString() << "\n";
    return 1;
  }
  auto session = (*auth)->login("bench", password);
  if (!session.ok()) return 1;

  MetricsRegistry metrics;
  HttpConfig config;
  config.listen = std::string("127.0.0.1:") + argv[2];
  config.threads = std::stoi(argv[3]);
  HttpFrontend::Options options;
  if (argc > 4 && std::string(argv[4]) == "shared") {
    options.thread_model = HttpFrontend::ThreadModel::shared_loop;
  }
  HttpFrontend frontend(vault, **auth, metrics, config, options);
  if (Status s = frontend.start(); !s.ok()) {
    std::cerr << s.toString() << "\n";
    return 1;
  }
  std::cout << session->token << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  frontend.stop();
  return 0;
}
