#include "bench/seam-bench/tool_results.h"

#include <cerrno>

namespace seams::bench {
namespace {

constexpr std::size_t kKeptOutput = 4096;

double numberAt(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

FioDirection directionOf(const nlohmann::json& d) {
  FioDirection out;
  if (!d.is_object()) return out;
  out.iops = numberAt(d, "iops");
  out.bw_bytes_per_s = numberAt(d, "bw_bytes");
  out.io_bytes = static_cast<std::uint64_t>(numberAt(d, "io_bytes"));
  out.total_ios = static_cast<std::uint64_t>(numberAt(d, "total_ios"));
  // fio leaves "percentile" out of a direction that did no I/O.
  const nlohmann::json* pct = nullptr;
  if (auto c = d.find("clat_ns"); c != d.end() && c->is_object()) {
    if (auto p = c->find("percentile"); p != c->end() && p->is_object()) pct = &*p;
  }
  if (pct) {
    out.clat_p50_us = numberAt(*pct, "50.000000") / 1000.0;
    out.clat_p99_us = numberAt(*pct, "99.000000") / 1000.0;
  }
  return out;
}

}  // namespace

Result<FioJobResult> parseFioJson(std::string_view text) {
  std::size_t start = std::string_view::npos;
  for (std::size_t pos = 0; pos < text.size();) {
    if (text[pos] == '{') {
      start = pos;
      break;
    }
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (start == std::string_view::npos)
    return Status(Errc::invalid_argument,
                  "no JSON document in fio's output: " + std::string(text.substr(0, 200)));
  nlohmann::json doc =
      nlohmann::json::parse(text.substr(start), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Errc::invalid_argument, "fio's JSON does not parse");
  const auto jobs = doc.find("jobs");
  if (jobs == doc.end() || !jobs->is_array() || jobs->empty() || !(*jobs)[0].is_object())
    return Status(Errc::invalid_argument, "fio's JSON has no job");
  const nlohmann::json& j = (*jobs)[0];
  FioJobResult r;
  r.jobname = j.value("jobname", std::string());
  r.error = static_cast<int>(numberAt(j, "error"));
  r.runtime_s = numberAt(j, "job_runtime") / 1000.0;  // ms
  r.read = directionOf(j.value("read", nlohmann::json()));
  r.write = directionOf(j.value("write", nlohmann::json()));
  return r;
}

std::string firstLineContaining(std::string_view text, std::string_view needle) {
  const std::size_t at = text.find(needle);
  if (at == std::string_view::npos) return {};
  const std::size_t begin = text.rfind('\n', at);
  const std::size_t from = begin == std::string_view::npos ? 0 : begin + 1;
  const std::size_t end = text.find('\n', at);
  return std::string(text.substr(from, end == std::string_view::npos ? end : end - from));
}

FioVerdict fioVerdict(int exit_code, const std::optional<FioJobResult>& job,
                      std::string_view output) {
  FioVerdict v;
  const std::string verify_line = firstLineContaining(output, "verify:");
  v.verify_failed = (job && job->error == EILSEQ) || !verify_line.empty();
  if (v.verify_failed) {
    v.ok = false;
    v.message = "fio verify FAILED (the data read back is not the data written)" +
                (verify_line.empty() ? std::string() : ": " + verify_line);
    return v;
  }
  if (exit_code != 0 || !job || job->error != 0) {
    v.ok = false;
    v.message = "fio failed: exit code " + std::to_string(exit_code);
    if (job && job->error != 0) v.message += ", job error " + std::to_string(job->error);
    if (!job) v.message += ", no job in its JSON";
    if (std::string line = firstLineContaining(output, "fio:"); !line.empty())
      v.message += ": " + line;
  }
  return v;
}

namespace {

nlohmann::json figure(double value, const char* unit) {
  return {{"value", value}, {"unit", unit}};
}

nlohmann::json directionJson(const FioDirection& d) {
  return {{"iops", figure(d.iops, "op/s")},
          {"bandwidth", figure(d.bw_bytes_per_s / (1024.0 * 1024.0), "MiB/s")},
          {"clat_p50", figure(d.clat_p50_us, "us")},
          {"clat_p99", figure(d.clat_p99_us, "us")},
          {"io_bytes", d.io_bytes},
          {"total_ios", d.total_ios}};
}

}  // namespace

FioRun fioRun(const std::string& command, int exit_code, double seconds, std::string_view output) {
  FioRun r;
  auto parsed = parseFioJson(output);
  if (parsed.ok()) r.job = *parsed;
  r.verdict = fioVerdict(exit_code, r.job, output);
  r.json = {{"command", command}, {"seconds", figure(seconds, "s")}, {"ok", r.verdict.ok}};
  if (r.job) {
    r.json["runtime"] = figure(r.job->runtime_s, "s");
    r.json["read"] = directionJson(r.job->read);
    r.json["write"] = directionJson(r.job->write);
    r.json["fio_error"] = r.job->error;
  } else {
    r.json["parse_error"] = parsed.status().toString();
  }
  if (!r.verdict.ok) {
    r.json["failure"] = r.verdict.message;
    r.json["verify_failed"] = r.verdict.verify_failed;
    r.json["output"] = std::string(output.substr(0, kKeptOutput));
  }
  return r;
}

void addFioJob(nlohmann::json& suite, const std::string& name, const FioRun& run) {
  suite["jobs"][name] = run.json;
  if (run.verdict.ok) return;
  const std::string failure = name + ": " + run.verdict.message;
  suite["error"] = suite.contains("error") && suite["error"].is_string()
                       ? suite["error"].get<std::string>() + "; " + failure
                       : failure;
  if (run.verdict.verify_failed) suite["verify_failed"] = true;
}

std::optional<std::string> fioRunFailure(const nlohmann::json& suite) {
  if (!suite.is_object() || !suite.value("verify_failed", false)) return std::nullopt;
  return "fio verify failed: " + suite.value("error", std::string("(no message)"));
}

nlohmann::json stepsJson(const std::vector<StepResult>& ran,
                         const std::vector<std::string>& not_run) {
  nlohmann::json steps = nlohmann::json::array();
  double total = 0;
  nlohmann::json out;
  out["ok"] = true;
  for (const StepResult& s : ran) {
    nlohmann::json j = {{"name", s.name},
                        {"command", s.command},
                        {"seconds", {{"value", s.seconds}, {"unit", "s"}}},
                        {"exit_code", s.exit_code},
                        {"ok", s.exit_code == 0}};
    total += s.seconds;
    if (s.exit_code != 0) {
      const std::string tail =
          s.output.size() > kKeptOutput ? s.output.substr(s.output.size() - kKeptOutput) : s.output;
      j["output"] = tail;
      if (out["ok"].get<bool>()) {
        out["ok"] = false;
        out["failed_step"] = s.name;
        out["failure"] = s.name + " (`" + s.command + "`) failed with exit code " +
                         std::to_string(s.exit_code) + ": " + tail;
      }
    }
    steps.push_back(std::move(j));
  }
  out["steps"] = std::move(steps);
  out["total"] = {{"value", total}, {"unit", "s"}};
  out["not_run"] = not_run;
  return out;
}

}  // namespace seams::bench
