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
  static const std::regex service_re(R"(^([A-Za-z][\w-]*) (starting|started)$)");
  std::vector<StartInterval> out;
  std::map<std::string, double> spawned_daemon;                   // launcher's name -> ms
  std::map<std::string, double> spawned_program;                  // program basename -> ms
  std::map<std::string, std::map<std::string, double>> starting;  // process -> service -> ms
  if (!services.is_array()) return out;
  for (const auto& e : services) {
    if (!e.is_object() || !e.contains("ms") || !e["ms"].is_number()) continue;
    const double ms = e["ms"].get<double>();
    const std::string who = e.value("who", "");
    const std::string event = e.value("event", "");
    const std::string process = processOf(who);
    std::smatch m;
    if (process == "launcher") {
      // (The launcher's own "NAME starting/started" bracket the same spawn and READY=1.)
      if (std::regex_match(event, m, spawned_re)) {
        const std::string program = m[2];
        spawned_daemon[m[1]] = ms;
        spawned_program[program.substr(program.rfind('/') + 1)] = ms;
      } else if (std::regex_match(event, m, ready_re)) {
        auto it = spawned_daemon.find(m[1]);
        if (it != spawned_daemon.end()) {
          out.push_back({"launcher: " + std::string(m[1]), ms - it->second});
          spawned_daemon.erase(it);
        }
      }
      continue;
    }
    if (!std::regex_match(event, m, service_re)) continue;
    const std::string service = m[1];
    auto& mine = starting[process];
    if (m[2] == "starting") {
      if (mine.empty()) {
        // The process's own start: exec, dynamic linking, config and logging set-up.
        if (process == "seamd") {
          out.push_back({"seamd: exec to first service", ms});
        } else if (auto sp = spawned_program.find(process); sp != spawned_program.end()) {
          out.push_back({process + ": exec to first service", ms - sp->second});
        }
      }
      mine[service] = ms;
    } else if (auto it = mine.find(service); it != mine.end()) {
      out.push_back({process + ": " + service, ms - it->second});
    }
  }
  return out;
}

}  // namespace seams::bench
