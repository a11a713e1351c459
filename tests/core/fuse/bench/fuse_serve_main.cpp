// fuse_serve: mounts a backing directory through FuseFrontend (LocalVault + LocalAuth, root mapped
// to an admin with every right) and serves until SIGINT/SIGTERM. A measuring aid for
// bench_vs_passthrough.sh, not a daemon: seamd is the real composition root.
//
//   fuse_serve BACKING_DIR MOUNTPOINT [entry_timeout_s attr_timeout_s kernel_cache(0|1)
//              max_threads max_idle_threads]
#include <signal.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/auth/local_auth.h"
#include "core/auth/sessions.h"
#include "core/cache/fs_cache.h"
#include "core/fuse/fuse_frontend.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"

int main(int argc, char** argv) {
  using namespace seams;
  if (argc != 3 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s BACKING_DIR MOUNTPOINT [entry_s attr_s kernel_cache max_threads "
                 "max_idle]\n",
                 argv[0]);
    return 2;
  }
  FuseConfig config;
  config.mountpoint = argv[2];
  if (argc == 8) {
    config.entry_timeout_s = std::atof(argv[3]);
    config.attr_timeout_s = std::atof(argv[4]);
    config.kernel_cache = std::atoi(argv[5]) != 0;
    config.max_threads = std::atoi(argv[6]);
    config.max_idle_threads = std::atoi(argv[7]);
  }
  // Block the stop signals before any thread starts, then wait for one with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  auto storage = Storage::open(argv[1]);
  if (!storage.ok()) {
    std::fprintf(stderr, "%s\n", storage.status().toString().c_str());
    return 1;
  }
  FsCache cache(FsCache::Options{}, clock);
  LocalVault vault(**storage, cache);
  if (sodium_init() < 0) return 1;
  auto hash = hashPassword("unused", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  if (!hash.ok()) return 1;
  auto auth = LocalAuth::create(
      {{"admin", *hash, 0u, {}}},
      {{Rule::Subject::user, "admin", VaultPath::root(), kAllAccess, Rule::Effect::allow}},
      AuthConfig{}, clock);
  if (!auth.ok()) {
    std::fprintf(stderr, "%s\n", auth.status().toString().c_str());
    return 1;
  }
  FuseFrontend frontend(vault, **auth, config, clock);
  if (Status s = frontend.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.toString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  frontend.stop();
  return 0;
}
