#include "core/control/seamctl.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/config/config.h"
#include "core/config/init_deployment.h"
#include "core/control/control_client.h"

namespace seams {
namespace {

std::string heartbeatText(const ControlRow& r) {
  if (!r.heartbeat_age_ms) return "-";
  const double ms = *r.heartbeat_age_ms;
  return ms < 10'000 ? fmt::format("{:.0f} ms", ms) : fmt::format("{:.1f} s", ms / 1000);
}

int fail(std::ostream& err, const Status& st) {
  err << "seamctl: " << st.message() << "\n";
  return 1;
}

constexpr const char* kDefaultConfig = "seams.toml";

// Which control socket to use: --socket, else --config's control_socket, else ./seams.toml's.
Result<std::string> controlSocketPath(const std::string& socket, const std::string& config_path) {
  if (!socket.empty()) return socket;
  std::string path = config_path;
  if (path.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(kDefaultConfig, ec)) {
      return Status(Errc::not_supported,
                    "no control socket: give --socket PATH or --config FILE, or run seamctl in the "
                    "directory of the deployment's seams.toml");
    }
    path = kDefaultConfig;
  }
  Result<Config> config = loadConfig(path);
  if (!config.ok()) return config.status();
  return config->control_socket;
}

// The process `pid` is gone (or a zombie nobody reaped yet).
bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const std::size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z';
}

// `seamctl wait`: until the deployment's control socket answers and every row is running.
int waitReady(const std::string& socket, double seconds, pid_t pid, bool json, std::ostream& out,
              std::ostream& err) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  std::string last = "no control socket at " + socket + " yet";
  bool seen = false;  // the socket answered once: its going away means the deployment stopped
  for (;;) {
    if (pid > 0 && processGone(pid)) {
      return fail(err, Status(Errc::unavailable, "process " + std::to_string(pid) +
                                                     " exited before it was ready (see its log)"));
    }
    auto client = ControlClient::connect(socket, std::chrono::milliseconds(2000));
    if (client.ok()) {
      seen = true;
      auto rows = (*client)->status();
      if (rows.ok()) {
        std::size_t running = 0;
        std::string waiting;
        for (const ControlRow& r : *rows) {
          if (r.state == "running") {
            ++running;
          } else {
            waiting += (waiting.empty() ? "" : ", ") + r.name + " " + r.state;
          }
        }
        if (!rows->empty() && waiting.empty()) {
          const std::string done = fmt::format("ready: {} running ({})", running, socket);
          out << (json ? nlohmann::json{{"ok", true}, {"message", done}}.dump(2) : done) << "\n";
          return 0;
        }
        last = "not running yet: " + waiting;
      } else {
        last = rows.status().message();
      }
    } else {
      if (seen && client.code() == Errc::not_found) {
        return fail(err, Status(Errc::unavailable,
                                "the deployment stopped before it was ready "
                                "(its control socket " +
                                    socket + " is gone)"));
      }
      last = client.status().message();
    }
    if (Clock::now() >= deadline) {
      return fail(err,
                  Status(Errc::timeout, fmt::format("not ready within {} s: {}", seconds, last)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

std::string formatStatusTable(const std::vector<ControlRow>& rows) {
  const std::vector<std::string> header = {"NAME",     "KIND",      "STATE",     "PID",
                                           "RESTARTS", "HEARTBEAT", "ABANDONED", "LAST ERROR"};
  std::vector<std::vector<std::string>> cells;
  for (const ControlRow& r : rows) {
    cells.push_back({r.name, r.kind, r.state, r.pid > 0 ? std::to_string(r.pid) : "-",
                     std::to_string(r.restarts), heartbeatText(r),
                     std::to_string(r.abandoned_threads),
                     r.last_error.empty() ? "-" : r.last_error});
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (std::size_t c = 0; c < row.size(); ++c) {
      // The last column is not padded, so long errors do not leave trailing blanks.
      text += c + 1 < row.size() ? fmt::format("{:<{}}  ", row[c], width[c]) : row[c];
    }
    out += text + "\n";
  };
  line(header);
  for (const auto& row : cells) line(row);
  return out;
}

nlohmann::json statusToJson(const std::vector<ControlRow>& rows) {
  nlohmann::json list = nlohmann::json::array();
  for (const ControlRow& r : rows) {
    nlohmann::json j = {{"name", r.name}, {"kind", r.kind},         {"state", r.state},
                        {"pid", r.pid},   {"restarts", r.restarts}, {"last_error", r.last_error}};
    j["heartbeat_age_ms"] = r.heartbeat_age_ms ? nlohmann::json(*r.heartbeat_age_ms) : nullptr;
    j["abandoned_threads"] = r.abandoned_threads;
    list.push_back(std::move(j));
  }
  return {{"services", list}};
}

std::string formatCachesTable(const std::vector<CacheEntryRow>& rows) {
  // The launcher's rows are named "DAEMON/ROLE": the first column is as wide as it needs.
  std::size_t width = 9;
  for (const CacheEntryRow& r : rows) width = std::max(width, r.cache.size() + 1);
  std::string out = fmt::format("{:<{}} {:<8} {:>10} {:>10}  {}\n", "CACHE", width, "KIND",
                                "VERSION", "BYTES", "PATH");
  std::uint64_t total = 0;
  for (const CacheEntryRow& r : rows) {
    out += fmt::format("{:<{}} {:<8} {:>10} {:>10}  {}\n", r.cache, width, r.kind, r.version,
                       r.bytes, r.path);
    total += r.bytes;
  }
  out += fmt::format("{} entries, {} bytes\n", rows.size(), total);
  return out;
}

nlohmann::json cachesToJson(const std::vector<CacheEntryRow>& rows) {
  nlohmann::json list = nlohmann::json::array();
  for (const CacheEntryRow& r : rows) {
    list.push_back({{"cache", r.cache},
                    {"kind", r.kind},
                    {"path", r.path},
                    {"version", r.version},
                    {"bytes", r.bytes}});
  }
  return {{"entries", list}};
}

nlohmann::json prometheusToJson(std::string_view text) {
  nlohmann::json metrics = nlohmann::json::array();
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string series = line.substr(0, space);
    const std::string value_text = line.substr(space + 1);
    nlohmann::json labels = nlohmann::json::object();
    std::string name = series;
    if (const std::size_t brace = series.find('{'); brace != std::string::npos) {
      name = series.substr(0, brace);
      std::string body = series.substr(brace + 1, series.rfind('}') - brace - 1);
      // name="value" pairs; values are escaped Prometheus strings.
      std::size_t pos = 0;
      while (pos < body.size()) {
        const std::size_t eq = body.find('=', pos);
        if (eq == std::string::npos || eq + 1 >= body.size() || body[eq + 1] != '"') break;
        std::string key = body.substr(pos, eq - pos);
        std::string value;
        std::size_t i = eq + 2;
        for (; i < body.size() && body[i] != '"'; ++i) {
          if (body[i] == '\\' && i + 1 < body.size()) {
            ++i;
            value += body[i] == 'n' ? '\n' : body[i];
          } else {
            value += body[i];
          }
        }
        labels[key] = value;
        pos = i + 1;
        if (pos < body.size() && body[pos] == ',') ++pos;
      }
    }
    nlohmann::json value;
    try {
      value = std::stod(value_text);
    } catch (const std::exception&) {
      value = value_text;  // "+Inf", "NaN": kept as text
    }
    metrics.push_back({{"name", name}, {"labels", labels}, {"value", value}});
  }
  return {{"metrics", metrics}};
}

int runSeamctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"seamctl: control a running Seams deployment (seamd or seam-split)", "seamctl"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string socket;
  std::string config_path;
  bool json = false;
  auto* socket_opt = app.add_option("--socket", socket,
                                    "the deployment's control socket (config: control_socket)");
  app.add_option("-c,--config", config_path,
                 "the deployment's seams.toml: its control_socket (default: ./seams.toml when "
                 "present)")
      ->excludes(socket_opt);
  app.add_flag("--json", json, "print JSON instead of tables");
  double timeout_s = 10;
  app.add_option("--timeout", timeout_s, "seconds to wait for the daemon's answer")
      ->check(CLI::Range(0.001, 3600.0));

  auto* status_cmd = app.add_subcommand("status",
                                        "each service or daemon: state, pid, restarts, "
                                        "last error, heartbeat age");
  auto* stats_cmd = app.add_subcommand("stats", "the deployment's metrics (Prometheus text)");
  auto* caches_cmd = app.add_subcommand(
      "caches", "every entry of the process's FS caches (a split daemon's own control socket)");
  std::string name;
  auto* restart_cmd = app.add_subcommand("restart", "restart one service or daemon");
  restart_cmd->add_option("NAME", name, "service or daemon")->required();
  std::string kind_text;
  auto* fault_cmd = app.add_subcommand(
      "fault", "inject a fault (only when the config sets [faults] enabled = true)");
  fault_cmd->add_option("NAME", name, "service or daemon")->required();
  fault_cmd->add_option("KIND", kind_text, "crash | hang | throw | abort")
      ->required()
      ->check(CLI::IsMember({"crash", "hang", "throw", "abort"}));
  auto* stop_cmd = app.add_subcommand("stop", "stop the whole deployment in order");
  double wait_s = 60;
  pid_t wait_pid = 0;
  auto* wait_cmd = app.add_subcommand(
      "wait",
      "wait until the deployment is ready (every service or daemon running); exit 1 if "
      "it is not within SECONDS");
  wait_cmd->add_option("SECONDS", wait_s, "how long to wait (default 60)")
      ->check(CLI::Range(0.0, 86400.0));
  wait_cmd->add_option("--pid", wait_pid,
                       "fail at once if this process (the daemon just started) exits first");

  InitOptions init;
  std::string codec = "capnp", coherence = "push";
  auto* init_cmd = app.add_subcommand("init", "write a complete, runnable deployment into DIR");
  init_cmd->add_option("DIR", init.dir, "where to write it")->required();
  init_cmd->add_option("--http", init.http_listen, "HOST:PORT for the HTTP API");
  init_cmd->add_option("--mount", init.mountpoint, "FUSE mountpoint (default DIR/mnt)");
  init_cmd->add_option("--codec", codec, "split deployment IPC codec")
      ->check(CLI::IsMember({"capnp", "protobuf", "grpc"}));
  init_cmd->add_option("--coherence", coherence, "split frontend cache coherence")
      ->check(CLI::IsMember({"off", "ttl", "push"}));
  init_cmd->add_flag("--faults", init.faults_enabled, "enable fault injection (seamctl fault)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a "successful" parse error (0); every real one is bad usage: 2.
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }

  if (init_cmd->parsed()) {
    init.codec = codec == "protobuf" ? Codec::protobuf
                 : codec == "grpc"   ? Codec::grpc
                                     : Codec::capnp;
    init.coherence = coherence == "off"   ? Coherence::off
                     : coherence == "ttl" ? Coherence::ttl
                                          : Coherence::push;
    Status st = initDeployment(init, out);
    return st.ok() ? 0 : fail(err, st);
  }

  Result<std::string> socket_path = controlSocketPath(socket, config_path);
  if (!socket_path.ok()) {
    err << "seamctl: " << socket_path.status().message() << "\n";
    // No way to find the socket at all is bad usage (2); a config that does not load fails (1).
    return socket_path.code() == Errc::not_supported ? 2 : 1;
  }
  socket = *socket_path;
  if (wait_cmd->parsed()) return waitReady(socket, wait_s, wait_pid, json, out, err);
  auto client = ControlClient::connect(
      socket, std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000)));
  if (!client.ok()) return fail(err, client.status());
  ControlClient& c = **client;

  if (status_cmd->parsed()) {
    auto rows = c.status();
    if (!rows.ok()) return fail(err, rows.status());
    out << (json ? statusToJson(*rows).dump(2) + "\n" : formatStatusTable(*rows));
    return 0;
  }
  if (stats_cmd->parsed()) {
    auto text = c.stats();
    if (!text.ok()) return fail(err, text.status());
    out << (json ? prometheusToJson(*text).dump(2) + "\n" : *text);
    return 0;
  }
  if (caches_cmd->parsed()) {
    auto rows = c.caches();
    if (!rows.ok()) return fail(err, rows.status());
    out << (json ? cachesToJson(*rows).dump(2) + "\n" : formatCachesTable(*rows));
    return 0;
  }
  Status st;
  std::string done;
  if (restart_cmd->parsed()) {
    st = c.restart(name);
    done = "restart of " + name + " requested";
  } else if (fault_cmd->parsed()) {
    st = c.fault(name, *parseFaultKind(kind_text));
    done = "fault " + kind_text + " injected into " + name;
  } else if (stop_cmd->parsed()) {
    st = c.stop();
    done = "stop requested";
    // A daemon that stops at once may close the connection before its answer is out: for a stop
    // that is the request carried out, not a failure.
    if (st.code() == Errc::unavailable) {
      st = okStatus();
      done = "stop requested (the daemon closed the connection as it stopped)";
    }
  }
  if (!st.ok()) {
    if (json) {
      out << nlohmann::json{{"ok", false}, {"code", errcName(st.code())}, {"error", st.message()}}
                 .dump(2)
          << "\n";
    }
    return fail(err, st);
  }
  out << (json ? nlohmann::json{{"ok", true}, {"message", done}}.dump(2) : done) << "\n";
  return 0;
}

}  // namespace seams
