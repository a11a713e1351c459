// Config: one TOML file describes a deployment; seamd and seam-split read the same file.
//
// This header is the single place where every key, its type and its default are written down,
// but for the users, rules and [auth] options: auth owns those records (core/auth/auth_config.h,
// included here, with the same notes beside each field).
// Relative paths in the file are resolved against the file's own directory. Unknown keys are
// errors (a typo must not silently fall back to a default). Every error names the key:
//   "seams.toml: http.threads: must be between 1 and 256 (got 0)"
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/auth_config.h"
#include "core/common/probe.h"
#include "core/common/status.h"

namespace seams {

enum class Codec : std::uint8_t { capnp = 0, protobuf = 1, grpc = 2 };
enum class Coherence : std::uint8_t { off = 0, ttl = 1, push = 2 };
enum class RestartStrategy : std::uint8_t { one_for_one = 0, rest_for_one = 1 };
// What the watchdog does with a hang (core/runtime/service_manager.h): restart abandons the hung
// thread and starts the service afresh; escalate stops everything and exits for the outer
// supervisor.
enum class HangAction : std::uint8_t { restart = 0, escalate = 1 };
std::string_view codecName(Codec c) noexcept;
std::string_view coherenceName(Coherence c) noexcept;
std::string_view restartStrategyName(RestartStrategy s) noexcept;
std::string_view hangActionName(HangAction a) noexcept;

struct HttpConfig {                               // [http]
  bool enabled = true;                            // enabled
  std::string listen = "127.0.0.1:8080";          // listen = "HOST:PORT" (port 0: pick a free one)
  int threads = 2;                                // threads, 1..256
  std::size_t max_header_bytes = 16 * 1024;       // max_header_bytes
  std::size_t max_body_bytes = 64 * 1024 * 1024;  // max_body_bytes
  int read_timeout_ms = 10'000;   // read_timeout_ms: a whole request, from its first byte
  int header_timeout_ms = 5'000;  // header_timeout_ms: a request head must be complete within
                                  //   this (from accept for the first, else from its first byte)
  int idle_timeout_ms = 60'000;   // idle_timeout_ms: keep-alive connection idle limit
  // max_connections: open client connections at most; 0 derives it from RLIMIT_NOFILE at start
  // (the limit less a quarter of it, at most 1024, kept for everything else). Past it, the
  // connection waiting longest for a request head is closed to make room, or the new one is
  // answered 503 (core/http/README.md).
  int max_connections = 0;
  // Logins (core/http/README.md "Logins"): password checks run on login_threads threads apart
  // from the request threads; past login_queue waiting checks a login is answered 503.
  int login_threads = 2;  // login_threads, 1..64
  int login_queue = 16;   // login_queue, 1..4096
  // Failed logins buy growing delays (answered 429 + Retry-After, no hash computed):
  // after `free` failures, wait min(delay_base * 2^(n - free - 1), delay_max) after the last.
  int login_free_failures_per_address = 10;  // login_free_failures_per_address, 0..1000
  int login_free_failures_per_user = 5;      // login_free_failures_per_user, 0..1000
  int login_delay_base_ms = 1000;            // login_delay_base_ms, 1..3600000
  int login_delay_max_ms = 60'000;           // login_delay_max_ms, >= login_delay_base_ms
  int login_hold_ms = 1000;  // login_hold_ms: a 429 is sent this late (0: at once), 0..10000
  int login_forget_s = 900;  // login_forget_s: a record ends this long after
                             //   its last failure, 1..86400

  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

struct FuseConfig {              // [fuse]
  bool enabled = true;           // enabled
  std::string mountpoint;        // mountpoint (required when enabled)
  int max_threads = 4;           // max_threads, 1..256
  int max_idle_threads = -1;     // max_idle_threads, -1..256; -1: keep them (core/fuse/README)
  double entry_timeout_s = 1.0;  // entry_timeout_s: kernel dentry cache
  double attr_timeout_s = 1.0;   // attr_timeout_s: kernel attribute cache
  bool kernel_cache = true;      // kernel_cache: keep page cache across opens
  bool allow_other = true;       // allow_other: let every local uid reach the mount

  friend bool operator==(const FuseConfig&, const FuseConfig&) = default;
};

struct CacheConfig {                              // [cache]
  std::size_t budget_bytes = 64 * 1024 * 1024;    // budget_bytes: metadata + content, one budget
  std::size_t max_entry_bytes = 4 * 1024 * 1024;  // max_entry_bytes: larger files bypass content
  int shards = 16;                                // shards, 1..1024
  Coherence coherence = Coherence::push;          // coherence = "off" | "ttl" | "push" (split)
  int ttl_ms = 1000;                              // ttl_ms (coherence = "ttl")

  friend bool operator==(const CacheConfig&, const CacheConfig&) = default;
};

struct WatchdogConfig {                          // [watchdog]
  int interval_ms = 100;                         // interval_ms: how often the watchdog looks
  int heartbeat_deadline_ms = 2000;              // heartbeat_deadline_ms: miss (first alert)
  int kill_deadline_ms = 10'000;                 // kill_deadline_ms: a hang past this is handled
  HangAction hang_action = HangAction::restart;  // hang_action = "restart" | "escalate"
  int start_timeout_ms = 10'000;                 // start_timeout_ms
  int stop_timeout_ms = 5000;                    // stop_timeout_ms
  int backoff_initial_ms = 100;                  // backoff_initial_ms
  int backoff_max_ms = 10'000;                   // backoff_max_ms
  double backoff_jitter = 0.2;                   // backoff_jitter: +/- fraction
  int backoff_reset_after_ms = 30'000;  // backoff_reset_after_ms: up this long resets backoff
  int intensity_max_restarts = 5;       // intensity_max_restarts (R)
  int intensity_period_s = 30;          // intensity_period_s (P)
  RestartStrategy strategy = RestartStrategy::one_for_one;  // strategy

  friend bool operator==(const WatchdogConfig&, const WatchdogConfig&) = default;
};

struct SplitConfig {           // [split]
  Codec codec = Codec::capnp;  // codec = "capnp" | "protobuf" | "grpc"
  // Socket paths; empty means "<runtime_dir>/<daemon>.sock".
  std::string fsd_socket;      // fsd_socket
  std::string authd_socket;    // authd_socket
  std::string bin_dir;         // bin_dir: where the daemons are (default: beside seam-split)
  int call_timeout_ms = 5000;  // call_timeout_ms: an IPC call past this is unavailable

  friend bool operator==(const SplitConfig&, const SplitConfig&) = default;
};

struct FaultsConfig {    // [faults]
  bool enabled = false;  // enabled: allow `seamctl fault`

  friend bool operator==(const FaultsConfig&, const FaultsConfig&) = default;
};

struct Config {
  std::string source;              // the file this came from (for messages)
  std::string vault_root;          // vault_root (required): the backing directory
  std::string runtime_dir;         // runtime_dir: sockets (mode 0700); default "<config dir>/run"
  std::string control_socket;      // control_socket: default "<runtime_dir>/control.sock"
  std::string log_level = "info";  // log_level = "trace" | "debug" | "info" | "warn" | "error"
  // Operator safety (issue 12). allow_shared_vault_root: start even when vault_root is readable
  // by other users (or not ours); by default seamd and seam-fsd refuse such a root.
  bool allow_shared_vault_root = false;
  std::vector<UserConfig> users;  // [[users]], core/auth/auth_config.h
  std::vector<RuleConfig> rules;  // [[rules]], core/auth/auth_config.h
  HttpConfig http;
  FuseConfig fuse;
  CacheConfig cache;
  AuthConfig auth;  // [auth], core/auth/auth_config.h
  WatchdogConfig watchdog;
  SplitConfig split;
  FaultsConfig faults;
  // [probe]: the bounds of GET /v1/probe and of Vault::probe at the owner (core/common/probe.h:
  // max_calls, max_work_us, max_reply_bytes, each with its ceiling there). max_work_us must stay
  // under split.call_timeout_ms, or a probe call at the limit would time out.
  ProbeLimits probe;

  friend bool operator==(const Config&, const Config&) = default;
};

// Reads and validates a config file. Errors are invalid_argument (or not_found for a missing
// file) with a message "FILE: KEY: PROBLEM".
Result<Config> loadConfig(const std::string& path);
// The same, from text; `base_dir` resolves relative paths, `source` names it in messages.
Result<Config> parseConfig(std::string_view toml, std::string_view source,
                           const std::string& base_dir);

// Writes `config` as TOML: every section and every key, values verbatim (paths are written as
// they are; `source` is not written). For a Config that parseConfig() produced, parsing the text
// again with the same base_dir gives an equal Config. `seamctl init` writes seams.toml with it.
std::string renderConfig(const Config& config);

}  // namespace seams
