// Config loading: TOML text -> validated Config, every error naming the file and the key.
//
// toml++ is used with exceptions (Debian's shared libtomlplusplus is built that way); every
// toml++ call sits inside parseConfig()'s try block, so no exception leaves this file.
#include "core/config/config.h"

#include <sys/un.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace seams {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;  // room for the NUL
constexpr std::int64_t kMaxMs = 24LL * 3600 * 1000;                         // one day
constexpr std::int64_t kMaxBytes = std::int64_t{1} << 40;                   // 1 TiB

std::string_view typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string formatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// Built with append: GCC 12 warns falsely (-Wrestrict, PR 105329) on "\"" + std::string(s).
std::string inQuotes(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.append(1, '"').append(s).append(1, '"');
  return out;
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// User and group names: [A-Za-z0-9_.-]{1,64}.
bool validName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), isNameChar);
}

std::string resolvePath(const std::string& base_dir, const std::string& p) {
  if (p.empty()) return p;
  fs::path path(p);
  if (path.is_relative()) path = fs::path(base_dir) / path;
  std::string out = path.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// "HOST:PORT" or "[V6]:PORT", port 0..65535 (0: pick a free one). An empty string when valid,
// otherwise what is wrong.
std::string checkListen(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return "must be HOST:PORT or [IPV6]:PORT";
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return "must be HOST:PORT (no port)";
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 host must be in brackets";
  }
  if (host.empty()) return "must be HOST:PORT (no host)";
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "port must be a number";
  }
  if (std::stoi(std::string(port)) > 65535) return "port must be at most 65535";
  return {};
}

// The first error found; later checks see it and do nothing, so the message is about the first
// problem in file order (section by section).
class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}
  bool failed() const { return !status_.ok(); }
  void fail(std::string_view key, std::string_view problem) {
    if (failed()) return;
    status_ = Status(Errc::invalid_argument,
                     source_ + ": " + std::string(key) + ": " + std::string(problem));
  }
  const Status& status() const { return status_; }

 private:
  std::string source_;
  Status status_;
};

// Reads the keys of one table; finish() reports any key nobody asked for.
class Section {
 public:
  // `table` may be null: an absent section, every key at its default.
  Section(Errors& errors, const toml::table* table, std::string path)
      : errors_(errors), table_(table), path_(std::move(path)) {}

  std::string key(std::string_view k) const {
    return path_.empty() ? std::string(k) : path_ + "." + std::string(k);
  }

  // The node for `k` (null when absent), marking it as known.
  const toml::node* node(std::string_view k) {
    known_.insert(std::string(k));
    if (table_ == nullptr) return nullptr;
    return table_->get(k);
  }

  bool present(std::string_view k) const { return table_ != nullptr && table_->contains(k); }

  void boolean(std::string_view k, bool& out) {
    const toml::node* n = node(k);
    if (n == nullptr) return;
    if (const auto* v = n->as_boolean()) {
      out = v->get();
    } else {
      wrongType(k, "a boolean", *n);
    }
  }

  template <typename Int>
  void integer(std::string_view k, Int& out, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = node(k);
    if (n == nullptr) return;
    const auto* v = n->as_integer();
    if (v == nullptr) return wrongType(k, "an integer", *n);
    const std::int64_t x = v->get();
    if (x < lo || x > hi) {
      return errors_.fail(key(k), "must be between " + std::to_string(lo) + " and " +
                                      std::to_string(hi) + " (got " + std::to_string(x) + ")");
    }
    out = static_cast<Int>(x);
  }

  // A float; an integer is accepted too ("1" for 1.0 is not a typo worth failing on).
  void number(std::string_view k, double& out, double lo, double hi) {
    const toml::node* n = node(k);
    if (n == nullptr) return;
    double x = 0;
    if (const auto* f = n->as_floating_point()) {
      x = f->get();
    } else if (const auto* i = n->as_integer()) {
      x = static_cast<double>(i->get());
    } else {
      return wrongType(k, "a number", *n);
    }
    if (!(x >= lo && x <= hi)) {  // also rejects NaN
      return errors_.fail(key(k), "must be between " + formatDouble(lo) + " and " +
                                      formatDouble(hi) + " (got " + formatDouble(x) + ")");
    }
    out = x;
  }

  void string(std::string_view k, std::string& out) {
    const toml::node* n = node(k);
    if (n == nullptr) return;
    if (const auto* v = n->as_string()) {
      out = v->get();
    } else {
      wrongType(k, "a string", *n);
    }
  }

  // A required string: absent or empty is an error.
  void requiredString(std::string_view k, std::string& out) {
    if (!present(k)) {
      node(k);
      return errors_.fail(key(k), "is required");
    }
    string(k, out);
    if (!errors_.failed() && out.empty()) errors_.fail(key(k), "must not be empty");
  }

  template <typename E>
  void choice(std::string_view k, E& out,
              std::initializer_list<std::pair<std::string_view, E>> options) {
    std::string s;
    const toml::node* n = node(k);
    if (n == nullptr) return;
    const auto* v = n->as_string();
    if (v == nullptr) return wrongType(k, "a string", *n);
    s = v->get();
    std::string names;
    for (const auto& [name, value] : options) {
      if (name == s) {
        out = value;
        return;
      }
      names += names.empty() ? "" : ", ";
      names += name;
    }
    errors_.fail(key(k), "must be one of " + names + " (got " + inQuotes(s) + ")");
  }

  void strings(std::string_view k, std::vector<std::string>& out) {
    const toml::node* n = node(k);
    if (n == nullptr) return;
    const auto* arr = n->as_array();
    if (arr == nullptr) return wrongType(k, "an array of strings", *n);
    std::vector<std::string> values;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto* v = (*arr)[i].as_string();
      if (v == nullptr) {
        return errors_.fail(
            key(k) + "[" + std::to_string(i) + "]",
            std::string("must be a string (got ") + std::string(typeName((*arr)[i].type())) + ")");
      }
      values.push_back(v->get());
    }
    out = std::move(values);
  }

  // A sub-table (null when absent); a non-table value is an error.
  const toml::table* table(std::string_view k) {
    const toml::node* n = node(k);
    if (n == nullptr) return nullptr;
    if (const auto* t = n->as_table()) return t;
    wrongType(k, "a table", *n);
    return nullptr;
  }

  void finish() {
    if (table_ == nullptr || errors_.failed()) return;
    for (const auto& [k, v] : *table_) {
      if (known_.count(std::string(k.str())) == 0) {
        errors_.fail(key(k.str()), "unknown key");
        return;
      }
    }
  }

  Errors& errors() { return errors_; }

 private:
  void wrongType(std::string_view k, std::string_view want, const toml::node& n) {
    errors_.fail(key(k),
                 "must be " + std::string(want) + " (got " + std::string(typeName(n.type())) + ")");
  }

  Errors& errors_;
  const toml::table* table_;
  std::string path_;
  std::set<std::string> known_;
};

// [[users]] / [[rules]]: an array of tables; null when absent.
const toml::array* arrayOfTables(Section& top, std::string_view k) {
  const toml::node* n = top.node(k);
  if (n == nullptr) return nullptr;
  const auto* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    // An empty array is harmless: no users.
    if (arr != nullptr && arr->empty()) return arr;
    top.errors().fail(top.key(k), "must be an array of tables ([[" + std::string(k) + "]])");
    return nullptr;
  }
  return arr;
}

void readUsers(Section& top, std::vector<UserConfig>& users) {
  const toml::array* arr = arrayOfTables(top, "users");
  if (arr == nullptr) return;
  std::set<std::string> names;
  std::set<std::uint32_t> uids;
  for (std::size_t i = 0; i < arr->size() && !top.errors().failed(); ++i) {
    Section s(top.errors(), (*arr)[i].as_table(), "users[" + std::to_string(i) + "]");
    UserConfig u;
    s.requiredString("name", u.name);
    if (!s.errors().failed() && !validName(u.name)) {
      s.errors().fail(s.key("name"),
                      "must be 1 to 64 of [A-Za-z0-9_.-] (got " + inQuotes(u.name) + ")");
    }
    if (!s.errors().failed() && !names.insert(u.name).second) {
      s.errors().fail(s.key("name"), "duplicate user " + inQuotes(u.name));
    }
    s.requiredString("password_hash", u.password_hash);
    if (!s.errors().failed() && u.password_hash.rfind("$argon2id$", 0) != 0) {
      s.errors().fail(s.key("password_hash"),
                      "must be an Argon2id hash in libsodium's format (\"$argon2id$...\")");
    }
    if (s.present("uid")) {
      std::uint32_t uid = 0;
      s.integer("uid", uid, 0, std::numeric_limits<std::uint32_t>::max());
      if (!s.errors().failed() && !uids.insert(uid).second) {
        s.errors().fail(s.key("uid"), "uid " + std::to_string(uid) + " belongs to another user");
      }
      u.uid = uid;
    }
    s.strings("groups", u.groups);
    for (const auto& g : u.groups) {
      if (!s.errors().failed() && !validName(g)) {
        s.errors().fail(s.key("groups"),
                        "must be names of [A-Za-z0-9_.-] (got " + inQuotes(g) + ")");
      }
    }
    s.finish();
    users.push_back(std::move(u));
  }
}

void readRules(Section& top, const std::vector<UserConfig>& users, std::vector<RuleConfig>& rules) {
  const toml::array* arr = arrayOfTables(top, "rules");
  if (arr == nullptr) return;
  for (std::size_t i = 0; i < arr->size() && !top.errors().failed(); ++i) {
    Section s(top.errors(), (*arr)[i].as_table(), "rules[" + std::to_string(i) + "]");
    Errors& errors = s.errors();
    RuleConfig r;

    std::string subject;
    s.requiredString("subject", subject);
    if (!errors.failed()) {
      const auto colon = subject.find(':');
      const std::string kind = subject.substr(0, colon);
      const std::string name = colon == std::string::npos ? "" : subject.substr(colon + 1);
      if (colon == std::string::npos || (kind != "user" && kind != "group") || !validName(name)) {
        errors.fail(s.key("subject"),
                    "must be \"user:NAME\" or \"group:NAME\" (got " + inQuotes(subject) + ")");
      } else if (kind == "user" &&
                 std::none_of(users.begin(), users.end(),
                              [&](const UserConfig& u) { return u.name == name; })) {
        errors.fail(s.key("subject"), "no [[users]] entry named " + inQuotes(name));
      }
      r.subject_kind = kind == "group" ? Rule::Subject::group : Rule::Subject::user;
      r.subject = name;
    }

    std::string prefix;
    s.requiredString("prefix", prefix);
    if (!errors.failed()) {
      auto parsed = VaultPath::parse(prefix);
      if (!parsed.ok()) {
        errors.fail(s.key("prefix"), parsed.status().message() + " (got " + inQuotes(prefix) + ")");
      } else {
        r.prefix = *parsed;
      }
    }

    if (!s.present("access")) {
      s.node("access");
      errors.fail(s.key("access"), "is required");
    }
    std::vector<std::string> access;
    s.strings("access", access);
    if (!errors.failed() && access.empty()) {
      errors.fail(s.key("access"), "must name at least one of read, write, list, admin");
    }
    for (const auto& a : access) {
      if (errors.failed()) break;
      if (a == "read") {
        r.access |= mask(Access::read);
      } else if (a == "write") {
        r.access |= mask(Access::write);
      } else if (a == "list") {
        r.access |= mask(Access::list);
      } else if (a == "admin") {
        r.access |= mask(Access::admin);
      } else {
        errors.fail(s.key("access"),
                    "must be among read, write, list, admin (got " + inQuotes(a) + ")");
      }
    }

    if (!s.present("effect")) {
      s.node("effect");
      errors.fail(s.key("effect"), "is required (\"allow\" or \"deny\")");
    }
    s.choice("effect", r.effect, {{"allow", Rule::Effect::allow}, {"deny", Rule::Effect::deny}});
    s.finish();
    rules.push_back(std::move(r));
  }
}

void readHttp(Section& top, HttpConfig& c) {
  Section s(top.errors(), top.table("http"), "http");
  s.boolean("enabled", c.enabled);
  s.string("listen", c.listen);
  if (!s.errors().failed()) {
    if (const std::string problem = checkListen(c.listen); !problem.empty()) {
      s.errors().fail(s.key("listen"), problem + " (got " + inQuotes(c.listen) + ")");
    }
  }
  s.integer("threads", c.threads, 1, 256);
  s.integer("max_header_bytes", c.max_header_bytes, 1024, 1024 * 1024);
  s.integer("max_body_bytes", c.max_body_bytes, 1, kMaxBytes);
  s.integer("read_timeout_ms", c.read_timeout_ms, 1, kMaxMs);
  s.integer("header_timeout_ms", c.header_timeout_ms, 1, kMaxMs);
  s.integer("idle_timeout_ms", c.idle_timeout_ms, 1, kMaxMs);
  s.integer("max_connections", c.max_connections, 0, 10'000'000);
  s.integer("login_threads", c.login_threads, 1, 64);
  s.integer("login_queue", c.login_queue, 1, 4096);
  s.integer("login_free_failures_per_address", c.login_free_failures_per_address, 0, 1000);
  s.integer("login_free_failures_per_user", c.login_free_failures_per_user, 0, 1000);
  s.integer("login_delay_base_ms", c.login_delay_base_ms, 1, 3'600'000);
  s.integer("login_delay_max_ms", c.login_delay_max_ms, 1, 24 * 3'600'000);
  s.integer("login_hold_ms", c.login_hold_ms, 0, 10'000);
  s.integer("login_forget_s", c.login_forget_s, 1, 86'400);
  if (!s.errors().failed() && c.login_delay_max_ms < c.login_delay_base_ms) {
    s.errors().fail(s.key("login_delay_max_ms"), "must be at least login_delay_base_ms (" +
                                                     std::to_string(c.login_delay_base_ms) + ")");
  }
  s.finish();
}

void readFuse(Section& top, const std::string& base_dir, FuseConfig& c) {
  Section s(top.errors(), top.table("fuse"), "fuse");
  s.boolean("enabled", c.enabled);
  if (c.enabled && !s.errors().failed()) {
    s.requiredString("mountpoint", c.mountpoint);
  } else {
    s.string("mountpoint", c.mountpoint);
  }
  c.mountpoint = resolvePath(base_dir, c.mountpoint);
  s.integer("max_threads", c.max_threads, 1, 256);
  s.integer("max_idle_threads", c.max_idle_threads, -1, 256);
  s.number("entry_timeout_s", c.entry_timeout_s, 0, 86400);
  s.number("attr_timeout_s", c.attr_timeout_s, 0, 86400);
  s.boolean("kernel_cache", c.kernel_cache);
  s.boolean("allow_other", c.allow_other);
  s.finish();
}

void readCache(Section& top, CacheConfig& c) {
  Section s(top.errors(), top.table("cache"), "cache");
  s.integer("budget_bytes", c.budget_bytes, 0, kMaxBytes);
  s.integer("max_entry_bytes", c.max_entry_bytes, 0, kMaxBytes);
  s.integer("shards", c.shards, 1, 1024);
  s.choice("coherence", c.coherence,
           {{"off", Coherence::off}, {"ttl", Coherence::ttl}, {"push", Coherence::push}});
  s.integer("ttl_ms", c.ttl_ms, 1, kMaxMs);
  s.finish();
}

void readAuth(Section& top, AuthConfig& c) {
  Section s(top.errors(), top.table("auth"), "auth");
  s.integer("session_ttl_s", c.session_ttl_s, 1, 365LL * 24 * 3600);
  s.boolean("sliding_expiry", c.sliding_expiry);
  s.integer("decision_cache_entries", c.decision_cache_entries, 0, 1 << 24);
  s.finish();
}

void readWatchdog(Section& top, WatchdogConfig& c) {
  Section s(top.errors(), top.table("watchdog"), "watchdog");
  s.integer("interval_ms", c.interval_ms, 1, 60'000);
  s.integer("heartbeat_deadline_ms", c.heartbeat_deadline_ms, 1, kMaxMs);
  s.integer("kill_deadline_ms", c.kill_deadline_ms, 1, kMaxMs);
  if (!s.errors().failed() && c.kill_deadline_ms < c.heartbeat_deadline_ms) {
    s.errors().fail(s.key("kill_deadline_ms"), "must be at least heartbeat_deadline_ms (" +
                                                   std::to_string(c.heartbeat_deadline_ms) +
                                                   ", got " + std::to_string(c.kill_deadline_ms) +
                                                   ")");
  }
  s.choice("hang_action", c.hang_action,
           {{"restart", HangAction::restart}, {"escalate", HangAction::escalate}});
  s.integer("start_timeout_ms", c.start_timeout_ms, 1, kMaxMs);
  s.integer("stop_timeout_ms", c.stop_timeout_ms, 1, kMaxMs);
  s.integer("backoff_initial_ms", c.backoff_initial_ms, 0, kMaxMs);
  s.integer("backoff_max_ms", c.backoff_max_ms, 0, kMaxMs);
  if (!s.errors().failed() && c.backoff_max_ms < c.backoff_initial_ms) {
    s.errors().fail(s.key("backoff_max_ms"), "must be at least backoff_initial_ms (" +
                                                 std::to_string(c.backoff_initial_ms) + ", got " +
                                                 std::to_string(c.backoff_max_ms) + ")");
  }
  s.number("backoff_jitter", c.backoff_jitter, 0, 1);
  s.integer("backoff_reset_after_ms", c.backoff_reset_after_ms, 0, kMaxMs);
  s.integer("intensity_max_restarts", c.intensity_max_restarts, 0, 1'000'000);
  s.integer("intensity_period_s", c.intensity_period_s, 1, 86400);
  s.choice("strategy", c.strategy,
           {{"one_for_one", RestartStrategy::one_for_one},
            {"rest_for_one", RestartStrategy::rest_for_one}});
  s.finish();
}

void readSplit(Section& top, SplitConfig& c) {
  Section s(top.errors(), top.table("split"), "split");
  s.choice("codec", c.codec,
           {{"capnp", Codec::capnp}, {"protobuf", Codec::protobuf}, {"grpc", Codec::grpc}});
  s.string("fsd_socket", c.fsd_socket);
  s.string("authd_socket", c.authd_socket);
  s.string("bin_dir", c.bin_dir);
  s.integer("call_timeout_ms", c.call_timeout_ms, 1, kMaxMs);
  s.finish();
}

void readFaults(Section& top, FaultsConfig& c) {
  Section s(top.errors(), top.table("faults"), "faults");
  s.boolean("enabled", c.enabled);
  s.finish();
}

void readProbe(Section& top, const SplitConfig& split, ProbeLimits& c) {
  Section s(top.errors(), top.table("probe"), "probe");
  s.integer("max_calls", c.max_calls, 1, ProbeLimits::kCeilingCalls);
  s.integer("max_work_us", c.max_work_us, 0, ProbeLimits::kCeilingWorkUs);
  s.integer("max_reply_bytes", c.max_reply_bytes, 0, ProbeLimits::kCeilingReplyBytes);
  if (!s.errors().failed() &&
      c.max_work_us >= static_cast<std::uint64_t>(split.call_timeout_ms) * 1000) {
    s.errors().fail(s.key("max_work_us"), "must be under split.call_timeout_ms (" +
                                              std::to_string(split.call_timeout_ms) + " ms, got " +
                                              std::to_string(c.max_work_us) + " us)");
  }
  s.finish();
}

// A socket path must fit sockaddr_un; when it was derived from runtime_dir, blame runtime_dir.
void checkSocketPath(Errors& errors, const std::string& path, bool explicit_key,
                     std::string_view key) {
  if (path.size() <= kMaxSocketPath) return;
  const std::string problem =
      "socket path " + inQuotes(path) + " is " + std::to_string(path.size()) +
      " bytes; a UNIX socket path must be at most " + std::to_string(kMaxSocketPath);
  errors.fail(explicit_key ? key : std::string_view("runtime_dir"), problem);
}

Result<Config> parseTable(const toml::table& root, std::string_view source,
                          const std::string& base_dir) {
  Errors errors{std::string(source)};
  Section top(errors, &root, "");
  Config c;
  c.source = std::string(source);

  top.requiredString("vault_root", c.vault_root);
  c.vault_root = resolvePath(base_dir, c.vault_root);
  top.string("runtime_dir", c.runtime_dir);
  c.runtime_dir = resolvePath(base_dir, c.runtime_dir.empty() ? "run" : c.runtime_dir);
  top.string("control_socket", c.control_socket);
  const bool explicit_control = !c.control_socket.empty();
  c.control_socket =
      explicit_control ? resolvePath(base_dir, c.control_socket) : c.runtime_dir + "/control.sock";
  top.choice("log_level", c.log_level,
             {std::pair<std::string_view, std::string>{"trace", "trace"},
              std::pair<std::string_view, std::string>{"debug", "debug"},
              std::pair<std::string_view, std::string>{"info", "info"},
              std::pair<std::string_view, std::string>{"warn", "warn"},
              std::pair<std::string_view, std::string>{"error", "error"}});
  top.boolean("allow_shared_vault_root", c.allow_shared_vault_root);
  readUsers(top, c.users);
  readRules(top, c.users, c.rules);
  readHttp(top, c.http);
  readFuse(top, base_dir, c.fuse);
  readCache(top, c.cache);
  readAuth(top, c.auth);
  readWatchdog(top, c.watchdog);
  readSplit(top, c.split);
  readFaults(top, c.faults);
  readProbe(top, c.split, c.probe);
  top.finish();

  const bool explicit_fsd = !c.split.fsd_socket.empty();
  const bool explicit_authd = !c.split.authd_socket.empty();
  c.split.fsd_socket =
      explicit_fsd ? resolvePath(base_dir, c.split.fsd_socket) : c.runtime_dir + "/fsd.sock";
  c.split.authd_socket =
      explicit_authd ? resolvePath(base_dir, c.split.authd_socket) : c.runtime_dir + "/authd.sock";
  c.split.bin_dir = resolvePath(base_dir, c.split.bin_dir);
  checkSocketPath(errors, c.control_socket, explicit_control, "control_socket");
  checkSocketPath(errors, c.split.fsd_socket, explicit_fsd, "split.fsd_socket");
  checkSocketPath(errors, c.split.authd_socket, explicit_authd, "split.authd_socket");

  if (errors.failed()) return errors.status();
  return c;
}

// TOML string literal with the escapes TOML requires.
std::string tomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string tomlFloat(double v) {
  std::string s = formatDouble(v);
  // TOML needs a '.' or exponent to read a float as a float ("1" would be an integer; we read
  // both, but a float should look like one).
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string tomlStrings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + tomlString(v[i]);
  return out + "]";
}

}  // namespace

std::string_view codecName(Codec c) noexcept {
  switch (c) {
    case Codec::capnp:
      return "capnp";
    case Codec::protobuf:
      return "protobuf";
    case Codec::grpc:
      return "grpc";
  }
  return "unknown";
}

std::string_view coherenceName(Coherence c) noexcept {
  switch (c) {
    case Coherence::off:
      return "off";
    case Coherence::ttl:
      return "ttl";
    case Coherence::push:
      return "push";
  }
  return "unknown";
}

std::string_view restartStrategyName(RestartStrategy s) noexcept {
  switch (s) {
    case RestartStrategy::one_for_one:
      return "one_for_one";
    case RestartStrategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

std::string_view hangActionName(HangAction a) noexcept {
  switch (a) {
    case HangAction::restart:
      return "restart";
    case HangAction::escalate:
      return "escalate";
  }
  return "unknown";
}

Result<Config> parseConfig(std::string_view toml_text, std::string_view source,
                           const std::string& base_dir) {
  try {
    std::error_code ec;
    fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::path(base_dir);
    if (base.is_relative()) base = fs::absolute(base, ec);
    const std::string base_str = base.lexically_normal().string();
    toml::table root = toml::parse(toml_text, std::string(source));
    return parseTable(root, source, base_str);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status(Errc::invalid_argument,
                  std::string(source) + ": line " + std::to_string(where.line) + ", column " +
                      std::to_string(where.column) + ": " + std::string(e.description()));
  } catch (const std::exception& e) {
    return Status(Errc::internal, std::string(source) + ": " + e.what());
  }
}

Result<Config> loadConfig(const std::string& path) {
  try {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) return Status(Errc::not_found, path + ": no such file");
    if (fs::is_directory(st)) return Status(Errc::is_a_directory, path + ": is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status(Errc::io_error, path + ": cannot open for reading");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Status(Errc::io_error, path + ": read failed");
    fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
    return parseConfig(text.str(), path, dir.string());
  } catch (const std::exception& e) {
    return Status(Errc::internal, path + ": " + e.what());
  }
}

std::string renderConfig(const Config& c) {
  std::ostringstream o;
  auto b = [](bool v) { return v ? "true" : "false"; };
  o << "# Seams deployment. Every key is documented in core/config/example.toml.\n"
    << "# Relative paths are resolved against this file's directory.\n\n"
    << "vault_root = " << tomlString(c.vault_root) << "\n"
    << "runtime_dir = " << tomlString(c.runtime_dir) << "\n"
    << "control_socket = " << tomlString(c.control_socket) << "\n"
    << "log_level = " << tomlString(c.log_level) << "\n"
    << "allow_shared_vault_root = " << b(c.allow_shared_vault_root) << "\n";

  o << "\n[http]\n"
    << "enabled = " << b(c.http.enabled) << "\n"
    << "listen = " << tomlString(c.http.listen) << "\n"
    << "threads = " << c.http.threads << "\n"
    << "max_header_bytes = " << c.http.max_header_bytes << "\n"
    << "max_body_bytes = " << c.http.max_body_bytes << "\n"
    << "read_timeout_ms = " << c.http.read_timeout_ms << "\n"
    << "header_timeout_ms = " << c.http.header_timeout_ms << "\n"
    << "idle_timeout_ms = " << c.http.idle_timeout_ms << "\n"
    << "max_connections = " << c.http.max_connections << "\n"
    << "login_threads = " << c.http.login_threads << "\n"
    << "login_queue = " << c.http.login_queue << "\n"
    << "login_free_failures_per_address = " << c.http.login_free_failures_per_address << "\n"
    << "login_free_failures_per_user = " << c.http.login_free_failures_per_user << "\n"
    << "login_delay_base_ms = " << c.http.login_delay_base_ms << "\n"
    << "login_delay_max_ms = " << c.http.login_delay_max_ms << "\n"
    << "login_hold_ms = " << c.http.login_hold_ms << "\n"
    << "login_forget_s = " << c.http.login_forget_s << "\n";

  o << "\n[fuse]\n"
    << "enabled = " << b(c.fuse.enabled) << "\n"
    << "mountpoint = " << tomlString(c.fuse.mountpoint) << "\n"
    << "max_threads = " << c.fuse.max_threads << "\n"
    << "max_idle_threads = " << c.fuse.max_idle_threads << "\n"
    << "entry_timeout_s = " << tomlFloat(c.fuse.entry_timeout_s) << "\n"
    << "attr_timeout_s = " << tomlFloat(c.fuse.attr_timeout_s) << "\n"
    << "kernel_cache = " << b(c.fuse.kernel_cache) << "\n"
    << "allow_other = " << b(c.fuse.allow_other) << "\n";

  o << "\n[cache]\n"
    << "budget_bytes = " << c.cache.budget_bytes << "\n"
    << "max_entry_bytes = " << c.cache.max_entry_bytes << "\n"
    << "shards = " << c.cache.shards << "\n"
    << "coherence = " << tomlString(coherenceName(c.cache.coherence)) << "\n"
    << "ttl_ms = " << c.cache.ttl_ms << "\n";

  o << "\n[auth]\n"
    << "session_ttl_s = " << c.auth.session_ttl_s << "\n"
    << "sliding_expiry = " << b(c.auth.sliding_expiry) << "\n"
    << "decision_cache_entries = " << c.auth.decision_cache_entries << "\n";

  const WatchdogConfig& w = c.watchdog;
  o << "\n[watchdog]\n"
    << "interval_ms = " << w.interval_ms << "\n"
    << "heartbeat_deadline_ms = " << w.heartbeat_deadline_ms << "\n"
    << "kill_deadline_ms = " << w.kill_deadline_ms << "\n"
    << "hang_action = " << tomlString(hangActionName(w.hang_action)) << "\n"
    << "start_timeout_ms = " << w.start_timeout_ms << "\n"
    << "stop_timeout_ms = " << w.stop_timeout_ms << "\n"
    << "backoff_initial_ms = " << w.backoff_initial_ms << "\n"
    << "backoff_max_ms = " << w.backoff_max_ms << "\n"
    << "backoff_jitter = " << tomlFloat(w.backoff_jitter) << "\n"
    << "backoff_reset_after_ms = " << w.backoff_reset_after_ms << "\n"
    << "intensity_max_restarts = " << w.intensity_max_restarts << "\n"
    << "intensity_period_s = " << w.intensity_period_s << "\n"
    << "strategy = " << tomlString(restartStrategyName(w.strategy)) << "\n";

  o << "\n[split]\n"
    << "codec = " << tomlString(codecName(c.split.codec)) << "\n"
    << "fsd_socket = " << tomlString(c.split.fsd_socket) << "\n"
    << "authd_socket = " << tomlString(c.split.authd_socket) << "\n"
    << "bin_dir = " << tomlString(c.split.bin_dir) << "\n"
    << "call_timeout_ms = " << c.split.call_timeout_ms << "\n";

  o << "\n[faults]\n"
    << "enabled = " << b(c.faults.enabled) << "\n";

  o << "\n[probe]\n"
    << "max_calls = " << c.probe.max_calls << "\n"
    << "max_work_us = " << c.probe.max_work_us << "\n"
    << "max_reply_bytes = " << c.probe.max_reply_bytes << "\n";

  for (const auto& u : c.users) {
    o << "\n[[users]]\n"
      << "name = " << tomlString(u.name) << "\n"
      << "password_hash = " << tomlString(u.password_hash) << "\n";
    if (u.uid) o << "uid = " << *u.uid << "\n";
    o << "groups = " << tomlStrings(u.groups) << "\n";
  }

  for (const auto& r : c.rules) {
    std::vector<std::string> access;
    for (Access a : {Access::read, Access::write, Access::list, Access::admin}) {
      if ((r.access & mask(a)) == 0) continue;
      switch (a) {
        case Access::read:
          access.push_back("read");
          break;
        case Access::write:
          access.push_back("write");
          break;
        case Access::list:
          access.push_back("list");
          break;
        case Access::admin:
          access.push_back("admin");
          break;
      }
    }
    o << "\n[[rules]]\n"
      << "subject = "
      << tomlString((r.subject_kind == Rule::Subject::group ? "group:" : "user:") + r.subject)
      << "\n"
      << "prefix = " << tomlString(r.prefix.str()) << "\n"
      << "access = " << tomlStrings(access) << "\n"
      << "effect = " << tomlString(r.effect == Rule::Effect::deny ? "deny" : "allow") << "\n";
  }
  return o.str();
}

}  // namespace seams
