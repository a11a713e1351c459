// fuse scenario and baselines.
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/seam-bench/floor_probe.h"
#include "bench/seam-bench/fs_ops.h"
#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/scenarios.h"
#include "core/process/child_process.h"
#include "core/stats/histogram_json.h"

namespace seams::bench {

namespace {

// Closed loops of the workload's fs ops (Settings::fuse_ops) at 1 and N threads under `root`;
// summary rows under `label`. `dataset` needs `data` (the data set written under `root`) and is
// left out without it.
nlohmann::json fsMatrix(const std::string& label, const std::string& root, const Settings& s,
                        BenchDeployment* dep, Summary& summary, const std::string& deployment,
                        const DatasetInfo* data) {
  nlohmann::json out;
  std::vector<std::string> ops;
  for (const auto& op : s.fuse_ops) {
    if (op != "dataset" || (data != nullptr && !data->data_paths.empty())) ops.push_back(op);
  }
  int step = 0;
  const int steps = static_cast<int>(ops.size()) * 2;
  // Split only: seam-fused's own count of its calls to seam-fsd, read between the phases, so an
  // op's calls per operation is the difference over its operations (HTTP's calls are not in it).
  std::optional<double> calls = fusedVaultCalls(dep);
  for (const auto& op : ops) {
    for (int threads : {1, s.fuse_threads}) {
      progress(deployment + " " + label + ": " + op + " threads=" + std::to_string(threads) + " (" +
               std::to_string(++step) + "/" + std::to_string(steps) + ")");
      FsWorkerOptions fo{s.hot_files, s.seed, s.fuse_mix, data, nullptr};
      if (op == "dataset") fo.tally = std::make_shared<SizeClassTally>(*data);
      ProcCounters before = dep ? dep->counters() : ProcCounters{};
      LoadResult r = closedLoop(threads, s.measure_s, fsWorker(root, op, fo));
      nlohmann::json j = r.toJson();
      if (op == "read4k") j["payload_bytes"] = s.hot_bytes;
      if (fo.tally) {
        j["by_size"] = fo.tally->toJson(r.seconds);
        for (const auto& [size, cls] : j["by_size"].items()) {
          if (threads == 1)
            summary.add(deployment, label + " dataset " + size + " t1 p50",
                        cls["latency"]["p50"].get<double>(), "us");
          else
            summary.add(deployment,
                        label + " dataset " + size + " t" + std::to_string(threads) + " bytes/s",
                        cls["bytes_per_s"]["value"].get<double>(), "MiB/s");
        }
      }
      if (dep) {
        ProcCounters d = dep->counters() - before;
        const double n = double(std::max<std::uint64_t>(1, r.ok + r.errors));
        j["cpu_per_op"] = fig(d.cpu_seconds / n * 1e6, "us");
        j["ctx_switches_per_op"] =
            fig(double(d.voluntary_switches + d.involuntary_switches) / n, "1");
        const std::optional<double> after = fusedVaultCalls(dep);
        if (calls && after && r.ok + r.errors > 0) {
          const double per_op = (*after - *calls) / n;
          j["fsd_calls_per_op"] = fig(per_op, "call/op");
          summary.add(deployment,
                      "ipc fsd calls per " + label + " " + op + " t" + std::to_string(threads),
                      per_op, "call/op");
        }
        calls = after;
      }
      out[op]["t" + std::to_string(threads)] = j;
      if (threads == 1) {
        summary.add(deployment, label + " " + op + " t1 p50",
                    double(r.latency->percentile(50)) / 1000, "us");
      } else {
        summary.add(deployment, label + " " + op + " t" + std::to_string(threads) + " throughput",
                    r.throughput(), "op/s");
      }
    }
  }
  return out;
}

constexpr long kFuseSuperMagic = 0x65735546;
bool isFuseMount(const std::string& path) {
  struct statfs sfs {};
  return ::statfs(path.c_str(), &sfs) == 0 && sfs.f_type == kFuseSuperMagic;
}

nlohmann::json passthroughBaseline(const Settings& s, const std::string& vault_root,
                                   Summary& summary, BaselineTools tools, nlohmann::json& fio,
                                   nlohmann::json& git, const DatasetInfo* data) {
  const auto skipped = [&](const nlohmann::json& why) {
    if (tools.fio) fio = why;
    if (tools.git) git = why;
    return why;
  };
  const std::string src = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c";
  const std::string bin = s.scratch + "/passthrough_ll";
  if (::access(src.c_str(), R_OK) != 0) return skipped({{"skipped", src + " not installed"}});
  if (::access(bin.c_str(), X_OK) != 0) {
    progress("baselines: building passthrough_ll from " + src);
    auto [code, out] = runProgram(
        "/bin/sh",
        {"-c", "gcc -O2 -Wall -o " + bin + " " + src + " $(pkg-config --cflags --libs fuse3)"}, 120,
        s.scratch);
    if (code != 0) return skipped({{"skipped", "build failed: " + out.substr(0, 400)}});
  }
  const std::string mnt = s.scratch + "/passthrough_mnt";
  std::filesystem::create_directories(mnt);
  auto child = ChildProcess::spawn({.program = bin,
                                    .args = {"-f", "-o", "source=" + vault_root, mnt},
                                    .stdout_path = s.scratch + "/passthrough.log",
                                    .stderr_path = s.scratch + "/passthrough.log"});
  if (!child.ok()) return skipped({{"skipped", child.status().toString()}});
  for (int i = 0; i < 5000 && !isFuseMount(mnt); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  nlohmann::json out;
  if (!isFuseMount(mnt)) {
    out = skipped(
        {{"skipped", "passthrough_ll did not mount: " + readFile(s.scratch + "/passthrough.log")}});
  } else {
    out = fsMatrix("passthrough_ll", mnt, s, nullptr, summary, "baseline", data);
    out["options"] = "passthrough_ll -f -o source=VAULT (its defaults: cache=auto, timeout 1 s)";
    if (tools.fio) fio = fioSuite(mnt, s, summary, "baseline", "passthrough_ll fio", nullptr);
    if (tools.git) git = gitWorkload(mnt, s, summary, "baseline", "passthrough_ll git");
  }
  ::umount2(mnt.c_str(), MNT_DETACH);
  (void)child->terminate(std::chrono::seconds(5));
  return out;
}

nlohmann::json nginxBaseline(const Settings& s, const std::string& vault_root, Summary& summary,
                             int repeat) {
  const char* nginx = "/usr/sbin/nginx";
  if (::access(nginx, X_OK) != 0) return {{"skipped", "nginx not installed"}};
  const std::string dir = s.scratch + "/nginx";
  std::filesystem::create_directories(dir + "/tmp");
  const std::uint16_t port = freePort();
  {
    std::ofstream conf(dir + "/nginx.conf");
    conf << "daemon off;\nuser root;\nworker_processes 2;\npid " << dir << "/nginx.pid;\nerror_log "
         << dir << "/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n"
         << "  client_body_temp_path " << dir << "/tmp;\n  proxy_temp_path " << dir << "/tmp;\n"
         << "  fastcgi_temp_path " << dir << "/tmp;\n  uwsgi_temp_path " << dir << "/tmp;\n"
         << "  scgi_temp_path " << dir << "/tmp;\n  keepalive_requests 1000000;\n"
         << "  server {\n    listen 127.0.0.1:" << port << ";\n"
         << "    location /v1/files/ { alias " << vault_root << "/; }\n  }\n}\n";
  }
  auto child = ChildProcess::spawn({.program = nginx,
                                    .args = {"-c", dir + "/nginx.conf", "-p", dir},
                                    .stdout_path = dir + "/out.log",
                                    .stderr_path = dir + "/out.log",
                                    .new_process_group = true});
  if (!child.ok()) return {{"skipped", child.status().toString()}};
  nlohmann::json out;
  bool up = false;
  for (int i = 0; i < 2000 && !up; ++i) {
    HttpClient probe("127.0.0.1", port);
    auto r = probe.request("GET", "/v1/files" + hotPath(0));
    up = r.ok() && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!up) {
    out = {{"skipped", "nginx did not serve: " + readFile(dir + "/error.log")}};
  } else {
    for (int conns : {1, s.connections}) {
      progress("baseline nginx: GET 4 KiB c=" + std::to_string(conns));
      LoadResult r = closedLoop(conns, s.measure_s, [&](int w) {
        auto client = std::make_shared<HttpClient>("127.0.0.1", port);
        auto rng = std::make_shared<std::uint64_t>(s.seed + static_cast<std::uint64_t>(w));
        const int hot = s.hot_files;
        return Op([client, rng, hot] {
          *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
          auto r =
              client->request("GET", "/v1/files" + hotPath(static_cast<int>((*rng >> 33) % hot)));
          return r.ok() && r->status == 200;
        });
      });
      out["get_4k"]["c" + std::to_string(conns)] = r.toJson();
      if (conns == 1)
        summary.add("baseline", "nginx GET 4K c1 p50", double(r.latency->percentile(50)) / 1000,
                    "us");
      else
        summary.add("baseline", "nginx GET 4K c" + std::to_string(conns) + " throughput",
                    r.throughput(), "req/s");
    }
    if (s.quick && repeat > 1) {
      out["wrk_crosscheck"] = {
          {"skipped", "quick run: the wrk check runs in the first repeat only"}};
    } else {
      progress("baseline nginx: wrk cross-check");
      out["wrk_crosscheck"] = wrkCrossChecks("127.0.0.1", port, "", "/v1/files" + hotPath(0), s,
                                             summary, "baseline", "wrk check (nginx)");
    }
    out["config"] = "nginx worker_processes 2, access_log off, alias of the vault root";
  }
  (void)child->signal(SIGQUIT);
  (void)child->wait(std::chrono::seconds(5));
  (void)child->terminate(std::chrono::seconds(2));
  return out;
}

// Raw UNIX-socket ping-pong: a 64-byte message and its echo between this process and a forked
// echo process, the floor of any IPC round trip (floor_probe.h; each deployment's run also has
// its own, measured before and after it).
nlohmann::json socketPingPong(const Settings& s, Summary& summary) {
  progress("baseline: raw UNIX-socket ping-pong");
  const PingPongOptions opts = unixFloorOptions(s.measure_s);
  auto r = unixPingPong(opts);
  if (!r.ok()) return {{"skipped", r.status().toString()}};
  summary.add("baseline", "unix ping-pong 64B p50", double(r->latency->percentile(50)) / 1000,
              "us");
  nlohmann::json j = r->toJson(opts);
  j["message_bytes"] = opts.request_bytes;
  j["processes"] = 2;
  return j;
}

}  // namespace

nlohmann::json runFuse(Context& c) {
  nlohmann::json out;
  try {
    auto tbl = toml::parse(c.dep.configText());
    nlohmann::json k;
    for (const char* key : {"entry_timeout_s", "attr_timeout_s"}) {
      k[key] = tbl["fuse"][key].value<double>().value_or(-1);
    }
    k["kernel_cache"] = tbl["fuse"]["kernel_cache"].value<bool>().value_or(false);
    k["max_threads"] = tbl["fuse"]["max_threads"].value<std::int64_t>().value_or(-1);
    k["max_idle_threads"] = tbl["fuse"]["max_idle_threads"].value<std::int64_t>().value_or(-1);
    out["kernel_cache_settings"] = k;
  } catch (const std::exception& e) {
    out["kernel_cache_settings"] = {{"error", e.what()}};
  }
  out["caller"] = "uid " + std::to_string(::getuid()) + " (the admin user of seamctl init)";
  out["ops"] = fsMatrix("fuse", c.dep.mountpoint(), c.settings, &c.dep, c.summary, c.name, &c.data);
  return out;
}

nlohmann::json runBaselines(const Settings& s, const std::string& vault_root, Summary& summary,
                            int repeat, BaselineTools tools, const DatasetInfo* data) {
  nlohmann::json out;
  out["direct"] = fsMatrix("direct", vault_root, s, nullptr, summary, "baseline", data);
  if (tools.fio)
    out["fio"]["direct"] = fioSuite(vault_root, s, summary, "baseline", "direct fio", nullptr);
  if (tools.git)
    out["git"]["direct"] = gitWorkload(vault_root, s, summary, "baseline", "direct git");
  nlohmann::json fio, git;
  out["passthrough_ll"] = passthroughBaseline(s, vault_root, summary, tools, fio, git, data);
  if (tools.fio) out["fio"]["passthrough_ll"] = fio;
  if (tools.git) out["git"]["passthrough_ll"] = git;
  out["nginx"] = nginxBaseline(s, vault_root, summary, repeat);
  out["unix_pingpong"] = socketPingPong(s, summary);
  return out;
}

}  // namespace seams::bench
