// The fio and git scenarios: real tools on the mount (and on the floors: the backing directory
// itself and passthrough_ll), parsed into the bench JSON (tool_results.h).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "bench/seam-bench/cache_probe.h"
#include "bench/seam-bench/scenarios.h"
#include "bench/seam-bench/tool_results.h"
#include "core/control/control_client.h"
#include "core/process/child_process.h"

namespace seams::bench {
namespace {

namespace fs = std::filesystem;

// The issue's job (4k, psync, 2 jobs), one group per fio run so its JSON has one job to read.
struct FioJob {
  const char* name;  // also the summary's label
  const char* rw;
  const char* bs;
  bool verify;
};
const FioJob kFioJobs[] = {{"randread-4k", "randread", "4k", false},
                           {"randwrite-4k", "randwrite", "4k", false},
                           {"randrw-4k-verify", "randrw", "4k", true},
                           {"seqread-1m", "read", "1m", false}};
constexpr int kFioNumJobs = 2;

// What a spawned tool did: exit code (128 + signal; -1 when it did not run or timed out),
// seconds, and its stdout + stderr.
struct Ran {
  int exit_code = -1;
  double seconds = 0;
  std::string output;
};

Ran runTool(const std::string& program, const std::vector<std::string>& args,
            const std::vector<std::string>& env, const std::string& cwd, double timeout_s,
            const std::string& scratch) {
  static int counter = 0;
  const std::string out_path = scratch + "/tool." + std::to_string(++counter) + ".out";
  Ran r;
  // cwd through /bin/sh -c 'cd DIR && exec "$0" "$@"': ChildProcess has no working directory.
  std::vector<std::string> sh_args = {"-c", "cd \"$0\" && exec \"$@\"", cwd, program};
  sh_args.insert(sh_args.end(), args.begin(), args.end());
  const std::int64_t t0 = nowNs();
  auto child = ChildProcess::spawn({.program = "/bin/sh",
                                    .args = sh_args,
                                    .extra_env = env,
                                    .stdout_path = out_path,
                                    .stderr_path = out_path,
                                    .new_process_group = true});
  if (!child.ok()) {
    r.output = child.status().toString();
    return r;
  }
  auto st = child->wait(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  r.seconds = double(nowNs() - t0) / 1e9;
  if (!st.ok()) {
    (void)child->signal(SIGKILL);
    (void)child->terminate(std::chrono::seconds(2));
    r.output = readFile(out_path) + "\n[seam-bench: killed after " + std::to_string(timeout_s) +
               " s: " + st.status().toString() + "]";
  } else {
    r.exit_code = st->signaled ? 128 + st->code : st->code;
    r.output = readFile(out_path);
  }
  ::unlink(out_path.c_str());
  return r;
}

std::string shellLine(const std::string& program, const std::vector<std::string>& args) {
  std::string line = program;
  for (const auto& a : args) line += " " + a;
  return line;
}

void addDirection(Summary& summary, const std::string& deployment, const std::string& prefix,
                  const std::string& dir, const FioDirection& d) {
  summary.add(deployment, prefix + " " + dir + " IOPS", d.iops, "op/s");
  summary.add(deployment, prefix + " " + dir + " bandwidth", d.bw_bytes_per_s / (1024.0 * 1024.0),
              "MiB/s");
  summary.add(deployment, prefix + " " + dir + " clat p50", d.clat_p50_us, "us");
  summary.add(deployment, prefix + " " + dir + " clat p99", d.clat_p99_us, "us");
}

}  // namespace

// The gauge is refreshed every 100 ms: waiting 150 ms first makes the count include every call
// of the phase that just ended.
std::optional<double> fusedVaultCalls(const BenchDeployment* dep) {
  if (dep == nullptr || dep->variant().launcher != "seam-split") return std::nullopt;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  for (const auto& [process, socket] : processControlSockets(dep->dir() + "/run")) {
    if (process != "seam-fused") continue;
    auto client = ControlClient::connect(socket, std::chrono::milliseconds(2000));
    if (!client.ok()) return std::nullopt;
    auto text = (*client)->stats();
    if (!text.ok()) return std::nullopt;
    return prometheusSumWhere(*text, "seams_ipc_round_trips", "owner=\"fsd\"");
  }
  return std::nullopt;
}

FioSettings fioSettings(const Settings& s) {
  return s.quick ? FioSettings{2, 8} : FioSettings{10, 32};
}

nlohmann::json fioSuite(const std::string& root, const Settings& s, Summary& summary,
                        const std::string& deployment, const std::string& label,
                        const BenchDeployment* dep) {
  const FioSettings fs_ = fioSettings(s);
  const std::string dir = root + "/seam-bench-fio";
  nlohmann::json out;
  out["settings"] = {{"runtime_s_per_job", fs_.runtime_s},
                     {"file_mib_per_job", fs_.file_mib},
                     {"numjobs", kFioNumJobs},
                     {"ioengine", "psync"},
                     {"direct", false},
                     {"time_based", true},
                     {"quick", s.quick},
                     {"files",
                      "one per job (seams-fio.N), laid out once by a 1 MiB sequential "
                      "write and shared by the four jobs"}};
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!fs::create_directories(dir, ec) || ec) {
    out["error"] = "mkdir " + dir + ": " + (ec ? ec.message() : "failed");
    return out;
  }
  const std::vector<std::string> common = {"--directory=" + dir,
                                           "--ioengine=psync",
                                           "--numjobs=" + std::to_string(kFioNumJobs),
                                           "--group_reporting",
                                           "--filename_format=seams-fio.$jobnum",
                                           "--size=" + std::to_string(fs_.file_mib) + "m",
                                           "--output-format=json"};
  const double timeout_s = fs_.runtime_s * 3.0 + 120;
  auto fio = [&](const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), "--name=" + name);
    args.insert(args.end(), common.begin(), common.end());
    return std::make_pair(shellLine("fio", args),
                          runTool("fio", args, {}, dir, timeout_s, s.scratch));
  };
  progress(deployment + " " + label + ": fio layout (" + std::to_string(kFioNumJobs) + " x " +
           std::to_string(fs_.file_mib) + " MiB, 1 MiB sequential writes)");
  {
    auto [cmd, r] = fio("layout", {"--rw=write", "--bs=1m"});
    FioRun run = fioRun(cmd, r.exit_code, r.seconds, r.output);
    out["layout"] = run.json;
    if (!run.verdict.ok) {
      out["error"] = "fio layout: " + run.verdict.message;
      fs::remove_all(dir, ec);
      return out;
    }
  }
  for (const FioJob& j : kFioJobs) {
    progress(deployment + " " + label + ": fio " + j.name + " (" + std::to_string(fs_.runtime_s) +
             " s)");
    std::vector<std::string> args = {std::string("--rw=") + j.rw, std::string("--bs=") + j.bs,
                                     "--runtime=" + std::to_string(fs_.runtime_s), "--time_based"};
    if (j.verify) args.push_back("--verify=crc32c");
    const std::optional<double> calls_before = fusedVaultCalls(dep);
    auto [cmd, r] = fio(j.name, args);
    const std::optional<double> calls_after = fusedVaultCalls(dep);
    FioRun run = fioRun(cmd, r.exit_code, r.seconds, r.output);
    if (run.verdict.ok && run.job) {
      const FioJobResult& job = *run.job;
      const std::string prefix = label + " " + j.name;
      if (job.read.total_ios > 0) addDirection(summary, deployment, prefix, "read", job.read);
      if (job.write.total_ios > 0) addDirection(summary, deployment, prefix, "write", job.write);
      const double ios = double(job.read.total_ios + job.write.total_ios);
      if (calls_before && calls_after && ios > 0) {
        const double per_io = (*calls_after - *calls_before) / ios;
        run.json["fsd_calls_per_io"] = fig(per_io, "call/op");
        summary.add(deployment, "ipc fsd calls per fio " + std::string(j.name) + " I/O", per_io,
                    "call/op");
      }
    } else {
      progress(deployment + " " + label + ": FAILED fio " + j.name + ": " + run.verdict.message);
    }
    addFioJob(out, j.name, run);
  }
  fs::remove_all(dir, ec);
  return out;
}

Result<std::string> sourceTarball(const Settings& s) {
  const std::string tar = s.scratch + "/seams-core-src.tar";
  if (::access(tar.c_str(), R_OK) == 0) return tar;
  if (s.source_dir.empty() || !fs::is_directory(s.source_dir + "/core"))
    return Status(Errc::not_found, "no source tree at " + s.source_dir + "/core");
  // Owner root and one fixed mtime: every run extracts the same bytes and metadata.
  Ran r = runTool("tar",
                  {"-cf", tar, "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                   "--mtime=@1700000000", "--exclude-vcs", "core"},
                  {}, s.source_dir, 120, s.scratch);
  if (r.exit_code != 0) {
    ::unlink(tar.c_str());
    return Status(Errc::io_error, "tar of " + s.source_dir + "/core failed: " + r.output);
  }
  return tar;
}

nlohmann::json gitWorkload(const std::string& root, const Settings& s, Summary& summary,
                           const std::string& deployment, const std::string& label) {
  nlohmann::json out;
  auto tar = sourceTarball(s);
  if (!tar.ok()) {
    out["error"] = tar.status().toString();
    return out;
  }
  std::error_code ec;
  out["tarball"] = {{"path", "core/ of " + s.source_dir},
                    {"bytes", fs::file_size(*tar, ec)},
                    {"made", "tar -cf --sort=name --owner=0 --group=0 --mtime=@1700000000 core"}};
  const std::string dir = root + "/seam-bench-git";
  fs::remove_all(dir, ec);
  if (!fs::create_directories(dir, ec) || ec) {
    out["error"] = "mkdir " + dir + ": " + (ec ? ec.message() : "failed");
    return out;
  }
  // git sees no system or user configuration: identity and settings are on the command line.
  const std::string home = s.scratch + "/git-home";
  fs::create_directories(home, ec);
  const std::vector<std::string> env = {"HOME=" + home,
                                        "GIT_CONFIG_NOSYSTEM=1",
                                        "GIT_CONFIG_GLOBAL=/dev/null",
                                        "LC_ALL=C",
                                        "GIT_AUTHOR_DATE=@1700000000 +0000",
                                        "GIT_COMMITTER_DATE=@1700000000 +0000"};
  const std::vector<std::string> id = {"-c", "user.name=seam-bench",
                                       "-c", "user.email=seam-bench@localhost",
                                       "-c", "init.defaultBranch=main"};
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), id.begin(), id.end());
    return args;
  };
  struct Step {
    std::string name, program;
    std::vector<std::string> args;
  };
  const std::vector<Step> steps = {
      {"extract", "tar", {"-xf", *tar}},
      {"git init", "git", git({"init", "-q"})},
      {"git add -A", "git", git({"add", "-A"})},
      {"git commit", "git", git({"commit", "-q", "-m", "core/ on the mount"})},
      {"git fsck", "git", git({"fsck", "--full", "--strict"})}};
  const double timeout_s = s.quick ? 120 : 600;
  std::vector<StepResult> ran;
  std::vector<std::string> not_run;
  for (const Step& st : steps) {
    if (!ran.empty() && ran.back().exit_code != 0) {
      not_run.push_back(st.name);
      continue;
    }
    progress(deployment + " " + label + ": " + st.name);
    Ran r = runTool(st.program, st.args, env, dir, timeout_s, s.scratch);
    ran.push_back({st.name, shellLine(st.program, st.args), r.seconds, r.exit_code,
                   r.exit_code == 0 ? std::string() : r.output});
    if (r.exit_code != 0)
      progress(deployment + " " + label + ": FAILED " + st.name + " (exit " +
               std::to_string(r.exit_code) + "): " + firstLineContaining(r.output, ""));
  }
  out.update(stepsJson(ran, not_run));
  if (!out["ok"].get<bool>()) {
    out["error"] = out["failure"];
  } else {
    // "git init" under label "git" reads "git init", not "git git init".
    for (const StepResult& r : ran) {
      const std::string step = r.name.rfind("git ", 0) == 0 ? r.name.substr(4) : r.name;
      summary.add(deployment, label + " " + step, r.seconds, "s");
    }
    summary.add(deployment, label + " total", out["total"]["value"].get<double>(), "s");
  }
  // Files and bytes extracted, whether or not the later steps worked.
  std::uint64_t files = 0;
  for (auto it = fs::recursive_directory_iterator(dir + "/core", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) ++files;
  }
  out["extracted_files"] = files;
  fs::remove_all(dir, ec);
  return out;
}

nlohmann::json runFio(Context& c) {
  return fioSuite(c.dep.mountpoint(), c.settings, c.summary, c.name, "fio", &c.dep);
}

nlohmann::json runGit(Context& c) {
  return gitWorkload(c.dep.mountpoint(), c.settings, c.summary, c.name, "git");
}

}  // namespace seams::bench
