#include "bench/seam-bench/startup_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

namespace seams::bench {
namespace {

double nearestRank(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * double(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// The log's "who": "12345" (a seamd thread), "split" (the launcher), "seam-fsd 12345" (a daemon
// and its thread).
std::string processOf(const std::string& who) {
  if (!who.empty() && std::all_of(who.begin(), who.end(), ::isdigit)) return "seamd";
  if (who == "split") return "launcher";
  return who.substr(0, who.find(' '));
}

}  // namespace

Spread spreadOf(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  Spread s;
  s.n = samples.size();
  s.p50 = nearestRank(samples, 0.5);
  s.p90 = nearestRank(samples, 0.9);
  s.max = samples.back();
  s.spread = s.p90 - s.p50;
  return s;
}

nlohmann::json spreadJson(const Spread& s, const std::string& unit) {
  return {{"n", s.n},
          {"p50", s.p50},
          {"p90", s.p90},
          {"max", s.max},
          {"spread", s.spread},
          {"unit", unit},
          {"definition", "nearest-rank p50/p90 over the starts; spread = p90 - p50"}};
}

std::vector<StartInterval> startIntervals(const nlohmann::json& services) {
  static const std::regex spawned_re(R"(^(\S+): spawned (\S+) \(pid \d+\)$)");
  static const std::regex ready_re(R"(^(\S+): ready \(pid \d+\)$)");
  static const std::regex started_re(R"(^([A-Za-z][\w-]*) started$)");
  std::vector<StartInterval> out;
  std::map<std::string, double> spawned_daemon;   // launcher's name -> ms
  std::map<std::string, double> spawned_program;  // program basename -> ms
  std::map<std::string, double> last_event;       // process -> ms of its last start event
  if (!services.is_array()) return out;
  for (const auto& e : services) {
    if (!e.is_object() || !e.contains("ms") || !e["ms"].is_number()) continue;
    const double ms = e["ms"].get<double>();
    const std::string who = e.value("who", "");
    const std::string event = e.value("event", "");
    const std::string process = processOf(who);
    std::smatch m;
    if (process == "launcher" && std::regex_match(event, m, spawned_re)) {
      const std::string program = m[2];
      spawned_daemon[m[1]] = ms;
      spawned_program[program.substr(program.rfind('/') + 1)] = ms;
    } else if (process == "launcher" && std::regex_match(event, m, ready_re)) {
      auto it = spawned_daemon.find(m[1]);
      if (it != spawned_daemon.end()) {
        out.push_back({"launcher: " + std::string(m[1]), ms - it->second});
        spawned_daemon.erase(it);
      }
    } else if (process != "launcher" && std::regex_match(event, m, started_re)) {
      // (The launcher's own "NAME started" follows its "NAME: ready" and adds nothing.)
      double from = 0;
      if (auto it = last_event.find(process); it != last_event.end()) {
        from = it->second;
      } else if (auto sp = spawned_program.find(process); sp != spawned_program.end()) {
        from = sp->second;
      } else if (process != "seamd") {
        continue;  // a daemon whose spawn is not in this log: no start to measure from
      }
      out.push_back({process + ": " + std::string(m[1]), ms - from});
      last_event[process] = ms;
    }
  }
  return out;
}

}  // namespace seams::bench
