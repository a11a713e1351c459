// The workload: defaults, the --workload file and the flags through one table of keys.
//
// toml++ is used with exceptions (as in core/config); every toml++ call sits in a try block here,
// so none leaves this file.
#include "bench/seam-bench/workload.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/common/probe.h"
#include "core/config/config.h"

namespace seams::bench {

namespace {

using nlohmann::json;

std::string joined(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

std::optional<double> parseNumber(const std::string& text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string typeOf(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a float";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "a table";
    default:
      return "nothing";
  }
}

// --- Reading one value of each type, from a flag's text or a file's value -----------------------

template <typename T>
struct Reader;

template <>
struct Reader<std::int64_t> {
  static std::string text(const std::string& s, std::int64_t& out) {
    auto v = parseScaledInteger(s);
    if (!v) return "must be an integer (K/M/G suffixes allowed), got " + quoted(s);
    out = *v;
    return {};
  }
  static std::string value(const json& j, std::int64_t& out) {
    if (j.is_number_integer()) {
      out = j.get<std::int64_t>();
      return {};
    }
    if (j.is_string()) return text(j.get<std::string>(), out);
    return "must be an integer (got " + typeOf(j) + ")";
  }
};

template <>
struct Reader<double> {
  static std::string text(const std::string& s, double& out) {
    auto v = parseNumber(s);
    if (!v) return "must be a number, got " + quoted(s);
    out = *v;
    return {};
  }
  static std::string value(const json& j, double& out) {
    if (j.is_number()) {
      out = j.get<double>();
      return {};
    }
    return "must be a number (got " + typeOf(j) + ")";
  }
};

template <>
struct Reader<std::string> {
  static std::string text(const std::string& s, std::string& out) {
    out = s;
    return {};
  }
  static std::string value(const json& j, std::string& out) {
    if (!j.is_string()) return "must be a string (got " + typeOf(j) + ")";
    out = j.get<std::string>();
    return {};
  }
};

// A list: "a,b,c" on the command line; an array (or that same string) in the file.
template <typename E>
struct Reader<std::vector<E>> {
  static std::string text(const std::string& s, std::vector<E>& out) {
    out.clear();
    for (const auto& item : splitCommas(s)) {
      E e{};
      if (std::string p = Reader<E>::text(item, e); !p.empty()) return p;
      out.push_back(std::move(e));
    }
    return {};
  }
  static std::string value(const json& j, std::vector<E>& out) {
    if (j.is_string()) return text(j.get<std::string>(), out);
    if (!j.is_array()) return "must be an array (got " + typeOf(j) + ")";
    out.clear();
    for (std::size_t i = 0; i < j.size(); ++i) {
      E e{};
      if (std::string p = Reader<E>::value(j[i], e); !p.empty())
        return "[" + std::to_string(i) + "] " + p;
      out.push_back(std::move(e));
    }
    return {};
  }
};

// Weights: "get_cached:70,put:30" on the command line; a table {get_cached = 70, put = 30} (or
// that same string) in the file.
template <>
struct Reader<Weights> {
  static std::string text(const std::string& s, Weights& out) {
    out.clear();
    for (const auto& item : splitCommas(s)) {
      const auto colon = item.find(':');
      if (colon == std::string::npos) return "must be OP:WEIGHT,..., got " + quoted(item);
      double w = 0;
      if (std::string p = Reader<double>::text(item.substr(colon + 1), w); !p.empty())
        return "the weight of " + quoted(item.substr(0, colon)) + " " + p;
      out.emplace_back(item.substr(0, colon), w);
    }
    return {};
  }
  static std::string value(const json& j, Weights& out) {
    if (j.is_string()) return text(j.get<std::string>(), out);
    if (!j.is_object()) return "must be a table of OP = WEIGHT (got " + typeOf(j) + ")";
    out.clear();
    for (const auto& [k, v] : j.items()) {
      if (!v.is_number()) return "the weight of " + quoted(k) + " must be a number";
      out.emplace_back(k, v.get<double>());
    }
    return {};
  }
};

template <typename T>
using Check = std::function<std::string(const T&)>;

// A row of the table for a field of type T (int and uint64 fields read as int64 and are
// range-checked before they are narrowed).
template <typename T, typename F>
Knob knob(std::string key, std::string flag, std::string help, F Workload::*field, Check<T> check) {
  Knob k;
  k.key = std::move(key);
  k.flag = std::move(flag);
  k.help = std::move(help);
  auto store = [field, check](Workload& w, T v) -> std::string {
    if (check) {
      if (std::string p = check(v); !p.empty()) return p;
    }
    w.*field = static_cast<F>(v);
    return {};
  };
  k.setText = [store](Workload& w, const std::string& s) {
    T v{};
    if (std::string p = Reader<T>::text(s, v); !p.empty()) return p;
    return store(w, std::move(v));
  };
  k.setJson = [store](Workload& w, const json& j) {
    T v{};
    if (std::string p = Reader<T>::value(j, v); !p.empty()) return p;
    return store(w, std::move(v));
  };
  k.get = [field](const Workload& w) {
    if constexpr (std::is_same_v<F, Weights>) {
      json o = json::object();
      for (const auto& [op, weight] : w.*field) o[op] = weight;
      return o;
    } else {
      return json(w.*field);
    }
  };
  return k;
}

template <typename N>
std::string numberText(N v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

template <typename N>
Check<N> inRange(N lo, N hi) {
  return [lo, hi](const N& v) -> std::string {
    if (v >= lo && v <= hi) return {};
    return "must be between " + numberText(lo) + " and " + numberText(hi) + " (got " +
           numberText(v) + ")";
  };
}

template <typename N>
Check<std::vector<N>> eachInRange(N lo, N hi, bool allow_empty = false) {
  return [lo, hi, allow_empty](const std::vector<N>& v) -> std::string {
    if (v.empty() && !allow_empty) return "must not be empty";
    for (const N& x : v) {
      if (std::string p = inRange(lo, hi)(x); !p.empty()) return "each " + p;
    }
    return {};
  };
}

std::string unknownName(const std::string& what, const std::string& name,
                        const std::vector<std::string>& valid) {
  return "unknown " + what + " " + quoted(name) + " (valid: " + joined(valid) + ")";
}

Check<std::vector<std::string>> namesAmong(const std::vector<std::string>& valid,
                                           const std::string& what) {
  return [&valid, what](const std::vector<std::string>& v) -> std::string {
    if (v.empty()) return "must name at least one " + what + " (valid: " + joined(valid) + ")";
    std::set<std::string> seen;
    for (const auto& n : v) {
      if (std::find(valid.begin(), valid.end(), n) == valid.end())
        return unknownName(what, n, valid);
      if (!seen.insert(n).second) return quoted(n) + " is named twice";
    }
    return {};
  };
}

Check<Weights> weightsAmong(const std::vector<std::string>& valid, const std::string& what) {
  return [&valid, what](const Weights& v) -> std::string {
    if (v.empty()) return "must give at least one operation's weight";
    std::set<std::string> seen;
    double total = 0;
    for (const auto& [n, weight] : v) {
      if (std::find(valid.begin(), valid.end(), n) == valid.end())
        return unknownName(what, n, valid);
      if (!seen.insert(n).second) return quoted(n) + " is named twice";
      if (!(weight >= 0) || !std::isfinite(weight))
        return "the weight of " + quoted(n) + " must be >= 0";
      total += weight;
    }
    if (total <= 0) return "the weights must not all be 0";
    return {};
  };
}

const std::vector<std::string>& mixableHttpOps() {
  static const std::vector<std::string> v = {"get_cached", "get_uncached", "stat",
                                             "list",       "put",          "dataset"};
  return v;
}
const std::vector<std::string>& mixableFuseOps() {
  static const std::vector<std::string> v = {"stat",    "read4k", "read1m",
                                             "readdir", "create", "dataset"};
  return v;
}

constexpr std::int64_t kMaxPayload = std::int64_t{1} << 30;  // 1 GiB: a body held in memory

}  // namespace

const std::vector<std::string>& httpOpNames() {
  static const std::vector<std::string> v = {"get_cached", "get_uncached", "stat",   "list",
                                             "put",        "mixed",        "dataset"};
  return v;
}
const std::vector<std::string>& fuseOpNames() {
  static const std::vector<std::string> v = {"stat",   "read4k", "read1m", "readdir",
                                             "create", "mix",    "dataset"};
  return v;
}

const std::vector<Knob>& workloadKnobs() {
  using S = std::string;
  using I = std::int64_t;
  using Names = std::vector<std::string>;
  static const std::vector<Knob> knobs = {
      // What runs.
      knob<Names>("deployments", "--deployments",
                  "comma-separated deployment names: mono, split/CODEC/COHERENCE with CODEC "
                  "capnp|protobuf|grpc and COHERENCE push|ttl|off",
                  &Workload::deployments,
                  [](const Names& v) -> S {
                    if (v.empty()) return "must name at least one deployment";
                    std::set<S> seen;
                    for (const auto& n : v) {
                      if (auto d = parseDeployment(n); !d.ok()) return d.status().message();
                      if (!seen.insert(n).second) return quoted(n) + " is named twice";
                    }
                    return {};
                  }),
      knob<Names>(
          "scenarios", "--scenarios",
          "comma-separated: startup, http, fuse, drift, memory, fio, git, fault, sweep, "
          "upgrade, baselines (fio and git also run on the direct and passthrough_ll floors when "
          "baselines is selected; sweep: GET /v1/probe over calls x work x bytes)",
          &Workload::scenarios,
          [](const Names& v) -> S { return v.empty() ? "must name a scenario" : ""; }),
      knob<I>("repeat", "--repeat",
              "run every deployment N times, interleaved (A B A B); the summary gives the median "
              "and a bootstrap 95% CI over repeats (default 2 with --quick, else 1)",
              &Workload::repeat, inRange<I>(1, 1000)),
      knob<double>("seconds", "--seconds",
                   "length of one load measurement in s (default 2, --quick 0.2)",
                   &Workload::seconds, inRange(0.01, 3600.0)),
      knob<I>("starts", "--starts",
              "starts per deployment in the startup scenario, the last one serving the load "
              "scenarios (default 20, --quick 5)",
              &Workload::starts, inRange<I>(1, 1000)),
      knob<I>("seed", "--seed", "seed of the data set and of every random choice", &Workload::seed,
              inRange<I>(0, std::numeric_limits<I>::max())),
      // [data]
      knob<I>("data.files", "--files",
              "files of the data set's bench/data, sizes drawn from --size-dist, read by the "
              "`dataset` operation (default 1000, --quick 200)",
              &Workload::files, inRange<I>(0, 1'000'000)),
      knob<S>("data.size_dist", "--size-dist",
              "sizes of the data set's files as SIZE:WEIGHT,... (K/M/G suffixes)",
              &Workload::size_dist,
              [](const S& v) -> S {
                auto d = parseSizeDist(v);
                if (!d.ok()) return d.status().message();
                for (const SizeClass& c : *d) {
                  if (c.bytes > std::uint64_t(kMaxPayload)) return "a size is over 1 GiB";
                }
                return {};
              }),
      knob<I>("data.hot_files", "--hot-files",
              "files of the hot set (get_cached, FUSE stat/read4k, drift, fault); default 32",
              &Workload::hot_files, inRange<I>(1, 100'000)),
      knob<I>("data.cold_files", "--cold-files",
              "files of the cold set, read in order by get_uncached (default 1024, --quick 512)",
              &Workload::cold_files, inRange<I>(1, 1'000'000)),
      knob<I>("data.hot_bytes", "--hot-bytes",
              "bytes of each hot file: the payload of get_cached and FUSE read4k (default 4K)",
              &Workload::hot_bytes, inRange<I>(0, kMaxPayload)),
      knob<I>("data.cold_bytes", "--cold-bytes",
              "bytes of each cold file: the payload of get_uncached (default 4K)",
              &Workload::cold_bytes, inRange<I>(0, kMaxPayload)),
      // [http]
      knob<I>("http.connections", "--connections",
              "N of the HTTP closed loops at 1 and N connections, and of the open loop (default "
              "8, --quick 4)",
              &Workload::connections, inRange<I>(1, 1024)),
      knob<Names>("http.ops", "--http-ops",
                  "HTTP operations, closed loop: get_cached, get_uncached, stat, list, put, "
                  "mixed, dataset (default all but dataset)",
                  &Workload::http_ops, namesAmong(httpOpNames(), "HTTP operation")),
      knob<Weights>("http.mix", "--http-mix",
                    "the `mixed` operation as OP:WEIGHT,... over get_cached, get_uncached, stat, "
                    "list, put, dataset (default get_cached:70,stat:10,list:5,get_uncached:5,"
                    "put:10)",
                    &Workload::http_mix, weightsAmong(mixableHttpOps(), "HTTP operation")),
      knob<I>("http.put_bytes", "--put-bytes", "bytes of each PUT body (default 4K)",
              &Workload::put_bytes, inRange<I>(0, kMaxPayload)),
      knob<Names>("http.open_loop_ops", "--open-loop-ops",
                  "HTTP operations run open loop, among those of --http-ops (default get_cached "
                  "and mixed; --quick get_cached)",
                  &Workload::open_loop_ops,
                  [](const Names& v) -> S {
                    if (v.empty()) return {};  // none: no open loop
                    return namesAmong(httpOpNames(), "HTTP operation")(v);
                  }),
      knob<std::vector<double>>(
          "http.open_loop_fractions", "--open-loop-fractions",
          "open-loop rates as fractions of the closed-loop N throughput (default "
          "0.25,0.5,0.75,0.9,1,1.1,1.25; --quick 0.5,0.9)",
          &Workload::open_loop_fractions, eachInRange(0.001, 100.0)),
      knob<std::vector<double>>(
          "http.open_loop_rates", "--open-loop-rates",
          "open-loop rates in req/s, instead of the fractions (default: none, the fractions)",
          &Workload::open_loop_rates, eachInRange(1.0, 10'000'000.0, true)),
      // [fuse]
      knob<I>("fuse.threads", "--fuse-threads",
              "N of the FUSE closed loops at 1 and N of the bench's threads (default 4; the "
              "daemon's own is --set fuse.max_threads=...)",
              &Workload::fuse_threads, inRange<I>(1, 1024)),
      knob<Names>("fuse.ops", "--fuse-ops",
                  "FUSE operations: stat, read4k, read1m, readdir, create, mix, dataset "
                  "(default all but dataset); also the baselines' direct and passthrough_ll",
                  &Workload::fuse_ops, namesAmong(fuseOpNames(), "FUSE operation")),
      knob<Weights>("fuse.mix", "--fuse-mix",
                    "the `mix` operation as OP:WEIGHT,... over stat, read4k, read1m, readdir, "
                    "create, dataset (default stat:60,read4k:25,readdir:5,create:10)",
                    &Workload::fuse_mix, weightsAmong(mixableFuseOps(), "FUSE operation")),
      // [cache]
      knob<I>("cache.budget_bytes", "--cache-budget",
              "the deployments' cache budget, config cache.budget_bytes (default 512K: the hot "
              "set fits, the cold set does not)",
              &Workload::cache_budget_bytes, inRange<I>(0, std::int64_t{1} << 40)),
      // [sweep]: the grid of GET /v1/probe (scenario_sweep.cpp); empty: the standard grid.
      knob<std::vector<I>>("sweep.calls", "--sweep-calls",
                           "the sweep's calls per request K, comma-separated (default "
                           "1,2,4,8,16; --quick 1,4,16)",
                           &Workload::sweep_calls,
                           eachInRange<I>(1, I(ProbeLimits::kCeilingCalls), true)),
      knob<std::vector<I>>("sweep.work_us", "--sweep-work-us",
                           "the sweep's CPU work per call W in us, comma-separated, at most "
                           "1000000 (default 0,10,100,1000; --quick 0,1000)",
                           &Workload::sweep_work_us, eachInRange<I>(0, 1'000'000, true)),
      knob<std::vector<I>>("sweep.bytes", "--sweep-bytes",
                           "the sweep's reply bytes per call B, comma-separated, at most 64M "
                           "(default 64,4096,65536,1048576; --quick 64,65536)",
                           &Workload::sweep_bytes,
                           eachInRange<I>(0, I(ProbeLimits::kCeilingReplyBytes), true)),
  };
  return knobs;
}

Workload defaultWorkload(bool quick) {
  Workload w;
  w.deployments = {"mono",
                   "split/capnp/push",
                   "split/capnp/off",
                   "split/capnp/ttl",
                   "split/protobuf/push",
                   "split/grpc/push"};
  w.scenarios = {"startup", "http",  "fuse",  "drift",   "memory",   "fio",
                 "git",     "fault", "sweep", "upgrade", "baselines"};
  w.repeat = quick ? 2 : 1;
  w.seconds = quick ? 0.2 : 2.0;
  w.starts = quick ? 5 : 20;
  w.files = quick ? 200 : 1000;
  w.cold_files = quick ? 512 : 1024;
  w.connections = quick ? 4 : 8;
  w.http_ops = {"get_cached", "get_uncached", "stat", "list", "put", "mixed"};
  w.http_mix = {{"get_cached", 70}, {"stat", 10}, {"list", 5}, {"get_uncached", 5}, {"put", 10}};
  w.open_loop_ops = quick ? std::vector<std::string>{"get_cached"}
                          : std::vector<std::string>{"get_cached", "mixed"};
  w.open_loop_fractions = quick ? std::vector<double>{0.5, 0.9}
                                : std::vector<double>{0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25};
  w.fuse_ops = {"stat", "read4k", "read1m", "readdir", "create", "mix"};
  w.fuse_mix = {{"stat", 60}, {"read4k", 25}, {"readdir", 5}, {"create", 10}};
  w.size_classes = *parseSizeDist(w.size_dist);
  return w;
}

json Workload::toJson() const {
  json j = json::object();
  for (const Knob& k : workloadKnobs()) {
    std::string ptr = "/" + k.key;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    j[json::json_pointer(ptr)] = k.get(*this);
  }
  json s = json::object();
  for (const ConfigOverride& o : set) s[o.key] = o.value;
  j["set"] = s;
  j["config_overrides"] = configOverrides();
  j["given"] = {{"file", from_file}, {"flags", from_flags}};
  return j;
}

std::map<std::string, std::string> Workload::configOverrides() const {
  // The bench's own: the cache budget, and a restart intensity the fault scenario's crashes do
  // not escalate past. Then the user's, which win.
  std::map<std::string, std::string> out = {
      {"cache.budget_bytes", std::to_string(cache_budget_bytes)},
      {"watchdog.intensity_max_restarts", "1000"},
  };
  for (const ConfigOverride& o : set) out[o.key] = o.toml;
  return out;
}

// --- Config overrides --------------------------------------------------------------------------

namespace {

// A config the bench can render and parse: required keys filled, everything else at its default.
Config schemaConfig() {
  Config c;
  c.vault_root = "/seam-bench/vault";
  c.fuse.mountpoint = "/seam-bench/mnt";
  return c;
}

// The keys of seams.toml as renderConfig() writes them ("section.key" or "key") and the TOML
// type of each; arrays of tables ([[users]], [[rules]]) are not single keys and are not here.
const std::map<std::string, toml::node_type>& configSchema() {
  static const std::map<std::string, toml::node_type> schema = [] {
    std::map<std::string, toml::node_type> out;
    try {
      toml::table root = toml::parse(renderConfig(schemaConfig()));
      for (const auto& [k, v] : root) {
        if (const auto* t = v.as_table()) {
          for (const auto& [k2, v2] : *t) {
            if (!v2.is_table() && !v2.is_array())
              out[std::string(k.str()) + "." + std::string(k2.str())] = v2.type();
          }
        } else if (!v.is_array()) {
          out[std::string(k.str())] = v.type();
        }
      }
    } catch (const std::exception&) {
      // renderConfig() writes what parseConfig() reads (config.h); an empty schema refuses
      // every key, loudly, rather than crash.
    }
    return out;
  }();
  return schema;
}

// Keys the bench writes itself: where things are, and what the deployment's name decides.
const std::map<std::string, std::string>& benchOwnedKeys() {
  static const std::map<std::string, std::string> owned = {
      {"vault_root", "the bench's fresh vault"},
      {"runtime_dir", "the bench's temp dir"},
      {"control_socket", "the bench's temp dir"},
      {"http.enabled", "the HTTP API the scenarios drive"},
      {"http.listen", "a free loopback port"},
      {"fuse.enabled", "the mount the scenarios drive"},
      {"fuse.mountpoint", "the bench's temp dir"},
      {"cache.coherence", "the deployment name (split/CODEC/COHERENCE)"},
      {"split.codec", "the deployment name (split/CODEC/COHERENCE)"},
      {"split.fsd_socket", "the bench's temp dir"},
      {"split.authd_socket", "the bench's temp dir"},
      {"split.bin_dir", "--bin-dir"},
      {"faults.enabled", "the fault scenario (always enabled)"},
  };
  return owned;
}

std::string keysOf(const std::string& section) {
  std::vector<std::string> keys;
  std::set<std::string> sections;
  for (const auto& [k, type] : configSchema()) {
    const auto dot = k.find('.');
    if (section.empty()) {
      if (dot == std::string::npos)
        keys.push_back(k);
      else
        sections.insert(k.substr(0, dot));
    } else if (dot != std::string::npos && k.substr(0, dot) == section) {
      keys.push_back(k.substr(dot + 1));
    }
  }
  if (section.empty())
    return "sections: " + joined({sections.begin(), sections.end()}) +
           "; top-level keys: " + joined(keys);
  return "keys of [" + section + "]: " + joined(keys);
}

// The value as TOML text, through toml++ so strings are escaped as TOML wants.
template <typename V>
std::string tomlText(V v) {
  std::ostringstream o;
  o << toml::table{{"v", std::move(v)}};
  const std::string s = o.str();
  const auto eq = s.find("= ");
  std::string out = eq == std::string::npos ? s : s.substr(eq + 2);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Result<ConfigOverride> parseConfigOverride(const std::string& key, const json& value) {
  auto fail = [&](const std::string& problem) {
    return Status(Errc::invalid_argument, key + ": " + problem);
  };
  try {
    const auto& schema = configSchema();
    const auto it = schema.find(key);
    if (it == schema.end()) {
      const auto dot = key.find('.');
      const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
      const bool known_section =
          !section.empty() && std::any_of(schema.begin(), schema.end(), [&](const auto& e) {
            return e.first.rfind(section + ".", 0) == 0;
          });
      return fail("not a key of seams.toml (" + keysOf(known_section ? section : "") + ")");
    }
    if (auto owned = benchOwnedKeys().find(key); owned != benchOwnedKeys().end())
      return fail("set by seam-bench itself (" + owned->second + ")");
    ConfigOverride o{key, "", nullptr};
    const std::string text = value.is_string() ? value.get<std::string>() : std::string();
    switch (it->second) {
      case toml::node_type::integer: {
        std::int64_t v = 0;
        if (std::string p = Reader<std::int64_t>::value(value, v); !p.empty()) return fail(p);
        o.value = v;
        o.toml = tomlText(v);
        break;
      }
      case toml::node_type::floating_point: {
        double v = 0;
        if (value.is_string()) {
          if (std::string p = Reader<double>::text(text, v); !p.empty()) return fail(p);
        } else if (std::string p = Reader<double>::value(value, v); !p.empty()) {
          return fail(p);
        }
        o.value = v;
        o.toml = tomlText(v);
        break;
      }
      case toml::node_type::boolean: {
        bool v = false;
        if (value.is_boolean()) {
          v = value.get<bool>();
        } else if (text == "true" || text == "false") {
          v = text == "true";
        } else {
          return fail("must be true or false (got " +
                      (value.is_string() ? quoted(text) : typeOf(value)) + ")");
        }
        o.value = v;
        o.toml = tomlText(v);
        break;
      }
      case toml::node_type::string: {
        if (!value.is_string()) return fail("must be a string (got " + typeOf(value) + ")");
        o.value = text;
        o.toml = tomlText(text);
        break;
      }
      default:
        return fail("cannot be set from the command line");
    }
    return o;
  } catch (const std::exception& e) {
    return Status(Errc::internal, key + ": " + e.what());
  }
}

Status checkConfigOverrides(const std::map<std::string, std::string>& overrides) {
  auto edited = applyConfigOverrides(renderConfig(schemaConfig()), overrides);
  if (!edited.ok()) return edited.status();
  auto parsed = parseConfig(*edited, "--set/[set]", "/");
  if (!parsed.ok()) return parsed.status();
  return okStatus();
}

// --- Resolving ---------------------------------------------------------------------------------

namespace {

const Knob* findKnob(const std::string& key) {
  for (const Knob& k : workloadKnobs()) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string validKeys() {
  std::vector<std::string> keys;
  for (const Knob& k : workloadKnobs()) keys.push_back(k.key);
  keys.push_back("set.KEY (any key of seams.toml)");
  return joined(keys);
}

json toJsonValue(const toml::node& n) {
  if (const auto* v = n.as_integer()) return v->get();
  if (const auto* v = n.as_floating_point()) return v->get();
  if (const auto* v = n.as_boolean()) return v->get();
  if (const auto* v = n.as_string()) return v->get();
  if (const auto* a = n.as_array()) {
    json out = json::array();
    for (const auto& e : *a) out.push_back(toJsonValue(e));
    return out;
  }
  if (const auto* t = n.as_table()) {
    json out = json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = toJsonValue(v);
    return out;
  }
  return "(a date or time)";
}

// [set]'s entries, flattened: `[set] cache.budget_bytes = 1` is the table set.cache in TOML.
void flattenSet(const toml::table& t, const std::string& prefix,
                std::vector<std::pair<std::string, json>>& out) {
  for (const auto& [k, v] : t) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table())
      flattenSet(*sub, key, out);
    else
      out.emplace_back(key, toJsonValue(v));
  }
}

struct FileValues {
  std::vector<std::pair<std::string, json>> knobs;  // in file order
  std::vector<std::pair<std::string, json>> sets;
};

// The file's keys: a knob's key where one matches (a table-valued knob such as http.mix stays
// whole), [set] flattened, any other table descended into; anything else is an unknown key.
Status readTable(const toml::table& t, const std::string& prefix, const std::string& source,
                 FileValues& out) {
  for (const auto& [k, v] : t) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (findKnob(key) != nullptr) {
      out.knobs.emplace_back(key, toJsonValue(v));
    } else if (key == "set") {
      const auto* st = v.as_table();
      if (st == nullptr)
        return Status(Errc::invalid_argument, source + ": set: must be a table of config keys");
      flattenSet(*st, "", out.sets);
    } else if (const auto* sub = v.as_table()) {
      if (Status s = readTable(*sub, key, source, out); !s.ok()) return s;
    } else {
      return Status(Errc::invalid_argument,
                    source + ": unknown key " + quoted(key) + " (valid keys: " + validKeys() + ")");
    }
  }
  return okStatus();
}

Status readWorkloadFile(const std::string& path, FileValues& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::not_found, path + ": cannot open the workload file");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    toml::table root = toml::parse(text.str(), path);
    return readTable(root, "", path, out);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status(Errc::invalid_argument, path + ": line " + std::to_string(where.line) +
                                              ", column " + std::to_string(where.column) + ": " +
                                              std::string(e.description()));
  } catch (const std::exception& e) {
    return Status(Errc::invalid_argument, path + ": " + e.what());
  }
}

bool among(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Checks that need more than one key.
Status crossChecks(Workload& w, const std::vector<std::string>& scenario_names) {
  auto fail = [](const std::string& m) { return Status(Errc::invalid_argument, m); };
  for (const auto& s : w.scenarios) {
    if (!among(scenario_names, s))
      return fail("scenarios: " + unknownName("scenario", s, scenario_names));
  }
  const bool open_given =
      w.from_file.count("http.open_loop_ops") + w.from_flags.count("http.open_loop_ops");
  std::vector<std::string> open;
  for (const auto& op : w.open_loop_ops) {
    if (among(w.http_ops, op)) {
      open.push_back(op);
    } else if (open_given) {
      // Its rates are fractions of the closed-loop throughput, so it must be measured first.
      return fail(
          "http.open_loop_ops: " + quoted(op) +
          " is not among http.ops (the open loop follows its closed loop): " + joined(w.http_ops));
    }
  }
  w.open_loop_ops = open;
  auto given = [&](const char* k) { return w.from_file.count(k) + w.from_flags.count(k) > 0; };
  if (given("http.open_loop_fractions") && given("http.open_loop_rates"))
    return fail("http.open_loop_rates and http.open_loop_fractions: give one or the other");
  auto weighs = [](const Weights& m, const char* op) {
    return std::any_of(m.begin(), m.end(),
                       [op](const auto& e) { return e.first == op && e.second > 0; });
  };
  if (w.files == 0) {
    const bool wants = among(w.http_ops, "dataset") || among(w.fuse_ops, "dataset") ||
                       (among(w.http_ops, "mixed") && weighs(w.http_mix, "dataset")) ||
                       (among(w.fuse_ops, "mix") && weighs(w.fuse_mix, "dataset"));
    if (wants) return fail("data.files: the dataset operation reads the data set, which is empty");
  }
  auto sizes = parseSizeDist(w.size_dist);
  if (!sizes.ok()) return fail("data.size_dist: " + sizes.status().message());
  w.size_classes = *sizes;
  return okStatus();
}

}  // namespace

Result<Workload> resolveWorkload(const WorkloadSources& sources,
                                 const std::vector<std::string>& scenario_names) {
  Workload w = defaultWorkload(sources.quick);
  std::vector<std::pair<std::string, json>> sets;  // (key, value), file first, then --set
  if (!sources.file.empty()) {
    FileValues fv;
    if (Status s = readWorkloadFile(sources.file, fv); !s.ok()) return s;
    for (const auto& [key, value] : fv.knobs) {
      if (std::string p = findKnob(key)->setJson(w, value); !p.empty())
        return Status(Errc::invalid_argument, sources.file + ": " + key + ": " + p);
      w.from_file.insert(key);
    }
    for (auto& [key, value] : fv.sets) {
      auto o = parseConfigOverride(key, value);
      if (!o.ok())
        return Status(Errc::invalid_argument, sources.file + ": [set] " + o.status().message());
      sets.emplace_back(key, value);
    }
  }
  for (const auto& [key, text] : sources.flags) {
    const Knob* k = findKnob(key);
    if (k == nullptr)
      return Status(Errc::invalid_argument,
                    "unknown workload key " + quoted(key) + " (valid keys: " + validKeys() + ")");
    if (std::string p = k->setText(w, text); !p.empty())
      return Status(Errc::invalid_argument, (k->flag.empty() ? key : k->flag) + ": " + p);
    w.from_flags.insert(key);
  }
  for (const std::string& kv : sources.sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status(Errc::invalid_argument, "--set: " + quoted(kv) + " is not KEY=VALUE");
    auto o = parseConfigOverride(kv.substr(0, eq), json(kv.substr(eq + 1)));
    if (!o.ok()) return Status(Errc::invalid_argument, "--set " + o.status().message());
    sets.emplace_back(kv.substr(0, eq), json(kv.substr(eq + 1)));
  }
  // The last value of a key wins, in the place of its first.
  for (const auto& [key, value] : sets) {
    ConfigOverride o = *parseConfigOverride(key, value);
    auto it = std::find_if(w.set.begin(), w.set.end(),
                           [&o](const ConfigOverride& e) { return e.key == o.key; });
    if (it != w.set.end())
      *it = o;
    else
      w.set.push_back(o);
    // The cache budget knob and the config key are one thing: keep the record honest.
    if (key == "cache.budget_bytes") w.cache_budget_bytes = o.value.get<std::uint64_t>();
  }
  if (Status s = crossChecks(w, scenario_names); !s.ok()) return s;
  if (Status s = checkConfigOverrides(w.configOverrides()); !s.ok())
    return Status(Errc::invalid_argument, s.message());
  return w;
}

}  // namespace seams::bench
