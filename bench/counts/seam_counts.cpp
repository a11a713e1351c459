// seam-counts: instructions and allocations per hot operation, counts that do not depend on the
// machine's noise (bench/counts/README.md).
//
//   seam-counts [--out FILE] [--iterations N] [--only OP,OP] [--label TEXT] [--spin K]
//
// Run as is, it re-executes itself under `valgrind --tool=callgrind --collect-atstart=no` and
// writes one JSON document (to FILE, or stdout): per operation the iterations, the instructions
// callgrind counted over them (Ir), instructions per operation and allocations per operation.
// Inside callgrind (RUNNING_ON_VALGRIND), each operation runs a warm-up with collection off, then
// N iterations between two CALLGRIND_TOGGLE_COLLECTs, then CALLGRIND_DUMP_STATS_AT(op): one dump
// file per operation, which the outer process reads back. Allocations are counted in-process
// (alloc_counter.h) over the same N iterations. Everything runs on this one thread, in-process,
// against real objects (LocalVault over a temporary directory, LocalAuth, FsCache, ApiHandler,
// FuseFrontend's ops table, the codecs' loopback stubs): no socket, no kernel mount, no clock
// reading that changes a branch (a ManualClock everywhere).
//
// --spin K adds the test-only operation `selftest/spin` (K iterations of a loop the compiler
// cannot remove), so the regression gate can be tested with a known growth.
// --no-callgrind runs the operations without valgrind (allocations only, Ir 0): a smoke run.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/counts/alloc_counter.h"
#include "bench/machine/codec_versions.h"
#include "core/auth/local_auth.h"
#include "core/auth/permissions.h"
#include "core/auth/sessions.h"
#include "core/cache/fs_cache.h"
#include "core/common/clock.h"
#include "core/fuse/fuse_frontend.h"
#include "core/fuse/unmounted_session.h"
#include "core/http/api_handler.h"
#include "core/stats/metrics.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"
#include "ipc/proto/proto_client.h"
#include "ipc/rpc/capnp_client.h"

namespace seams::counts {
namespace {

namespace bhttp = boost::beast::http;

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

[[noreturn]] void die(const std::string& what) {
  std::cerr << "seam-counts: " << what << "\n";
  std::exit(2);
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.status().message());
  return std::move(r).value();
}

void mustOk(const Status& st, const char* what) {
  if (!st.ok()) die(std::string(what) + ": " + st.message());
}

struct Options {
  std::string out;
  int iterations = 1000;
  int warmup = 20;
  std::vector<std::string> only;
  std::string label;
  long spin = -1;  // <0: no selftest op
  bool callgrind = true;
  bool inner = false;  // set on the re-executed child
};

// One measured operation. `run` performs one iteration and returns false when the operation
// failed (the run then fails: a count of an error path would be a count of the wrong thing).
struct Op {
  std::string name;
  std::string what;
  std::function<bool()> run;
};

template <typename T>
void appendPod(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Everything the operations share, built before any measurement. The vault's backing directory
// comes from mkdtemp (a name of fixed length, so path handling costs the same in every run).
class World {
 public:
  World() {
    spdlog::set_level(spdlog::level::err);
    if (sodium_init() < 0) die("sodium_init failed");
    char tmpl[] = "/tmp/seam-counts-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp failed");
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ / "vault");
    std::filesystem::permissions(dir_ / "vault", std::filesystem::perms::owner_all);
    storage_ = must(Storage::open((dir_ / "vault").string()), "storage");
    cache_ = std::make_unique<FsCache>(FsCache::Options{}, clock_);
    vault_ = std::make_unique<LocalVault>(*storage_, *cache_);

    const std::string hash =
        must(hashPassword("pw", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), "hash");
    const std::uint32_t uid = ::getuid();
    auth_ = must(LocalAuth::create(
                     {UserConfig{"alice", hash, uid, {"staff"}}},
                     {Rule{Rule::Subject::group, "staff", P("/"), kAllAccess, Rule::Effect::allow},
                      Rule{Rule::Subject::user, "bob", P("/docs/private"), mask(Access::read),
                           Rule::Effect::deny}},
                     AuthConfig{}, clock_),
                 "auth");
    token_ = must(auth_->login("alice", "pw"), "login").token;
    must(vault_->put(P("/f4k"), std::string(4096, 'a')), "put /f4k");
  }
  ~World() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::vector<Op> ops(const Options& o) {
    std::vector<Op> out;
    const VaultPath f4k = P("/f4k");

    out.push_back({"vault/read_cached", "LocalVault::read of 4 KiB served from the FS cache",
                   [this, f4k] { return vault_->read(f4k, 0, 4096).ok(); }});
    out.push_back({"vault/read_uncached",
                   "FsCache::invalidate then LocalVault::read of 4 KiB: storage read and cache "
                   "fill (the first read after a change)",
                   [this, f4k] {
                     cache_->invalidate(f4k);
                     return vault_->read(f4k, 0, 4096).ok();
                   }});

    table_.emplace();
    (void)table_->add(
        Rule{Rule::Subject::group, "staff", P("/docs"), kAllAccess, Rule::Effect::allow});
    (void)table_->add(Rule{Rule::Subject::user, "bob", P("/docs/private"), mask(Access::read),
                           Rule::Effect::deny});
    out.push_back({"auth/permission_decision",
                   "PermissionTable::allowed for a path under two rules (decision cache hit)",
                   [this, who = Principal{"alice", {"staff"}}, p = P("/docs/a/b.txt")] {
                     return table_->allowed(who, p, Access::read);
                   }});
    out.push_back({"auth/token_validation", "LocalAuth::validate of a live session token",
                   [this] { return auth_->validate(token_).ok(); }});

    // 4 KiB entries in a budget of 8 of them: past the first 8 fills, every fill evicts one.
    FsCache::Options small;
    small.budget_bytes = 8 * (4096 + FsCache::kEntryOverhead + 16);
    small.shards = 1;
    small_cache_ = std::make_unique<FsCache>(small, clock_);
    for (int i = 0; i < 64; ++i) fill_paths_.push_back(P("/fill/f" + std::to_string(100 + i)));
    out.push_back({"cache/fill_evict",
                   "FsCache::beginFill + putContent of 4 KiB into a full cache (one eviction)",
                   [this] {
                     const VaultPath& p = fill_paths_[next_fill_++ % fill_paths_.size()];
                     const FillTicket t = small_cache_->beginFill(p);
                     small_cache_->putContent(p, 7, fill_data_, t);
                     return true;
                   }});

    handler_ = std::make_unique<http::ApiHandler>(*vault_, *auth_, metrics_);
    http_request_ =
        "GET /v1/files/f4k HTTP/1.1\r\nHost: localhost\r\nUser-Agent: seam-counts\r\n"
        "Authorization: Bearer " +
        token_ + "\r\nAccept: */*\r\n\r\n";
    out.push_back({"http/get_cached",
                   "a GET of 4 KiB: Beast's request_parser over the request's bytes (the "
                   "frontend's limits), then ApiHandler::handle (token, permission, cached read)",
                   [this] { return httpGet(); }});

    FuseConfig fuse_config;
    fuse_config.mountpoint = "/nonexistent";  // never mounted
    fuse_ = std::make_unique<FuseFrontend>(*vault_, *auth_, fuse_config, clock_);
    fuse_session_ = must(UnmountedSession::open(*fuse_), "fuse session");
    mustOk(fuse_session_->init(), "fuse init");
    fuseOpen();
    out.push_back({"fuse/read_cached",
                   "FUSE_READ of 4 KiB on an open file through FuseFrontend's ops table "
                   "(fuse_session_process_buf, no kernel), served from the FS cache",
                   [this] { return fuseRead(); }});

    capnp_ = std::make_unique<ipc::CapnpVaultClient>(*vault_);
    proto_ = std::make_unique<ipc::ProtoVaultClient>(*vault_);
    out.push_back({"ipc/capnp_loopback_read",
                   "Vault::read of 4 KiB through the Cap'n Proto stub in loopback (encode, "
                   "serialise, decode, serve, answer back; no socket)",
                   [this, f4k] { return capnp_->read(f4k, 0, 4096).ok(); }});
    out.push_back({"ipc/protobuf_loopback_read",
                   "Vault::read of 4 KiB through the protobuf stub in loopback",
                   [this, f4k] { return proto_->read(f4k, 0, 4096).ok(); }});

    if (o.spin >= 0) {
      out.push_back({"selftest/spin", "test-only: a loop of --spin iterations", [k = o.spin] {
                       for (long i = 0; i < k; ++i) __asm__ volatile("" ::: "memory");
                       return true;
                     }});
    }
    return out;
  }

 private:
  bool httpGet() {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(HttpConfig{}.max_header_bytes));
    parser.body_limit(HttpConfig{}.max_body_bytes);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(http_request_), ec);
    if (ec || !parser.is_done()) return false;
    http::Request req = parser.release();
    http::Response res;
    handler_->handle(req, res);
    return res.result_int() == 200 && res.body().size() == 4096;
  }

  void fuseOpen() {
    const std::string name = "f4k";
    fuse_session_->send(FUSE_LOOKUP, FUSE_ROOT_ID, ::getuid(), std::string(name) + '\0');
    fuse_entry_out e{};
    const std::string& r = fuseReply("lookup", sizeof e);
    std::memcpy(&e, r.data() + sizeof(fuse_out_header), sizeof e);
    fuse_node_ = e.nodeid;
    fuse_open_in in{};
    in.flags = O_RDONLY;
    std::string args;
    appendPod(args, in);
    fuse_session_->send(FUSE_OPEN, fuse_node_, ::getuid(), args);
    fuse_open_out o{};
    const std::string& r2 = fuseReply("open", sizeof o);
    std::memcpy(&o, r2.data() + sizeof(fuse_out_header), sizeof o);
    fuse_read_in rd{};
    rd.fh = o.fh;
    rd.offset = 0;
    rd.size = 4096;
    rd.flags = O_RDONLY;
    fuse_read_args_.clear();
    appendPod(fuse_read_args_, rd);
  }

  const std::string& fuseReply(const char* what, std::size_t payload) {
    const auto& replies = fuse_session_->replies();
    fuse_out_header h{};
    if (replies.size() != 1 || replies[0].size() < sizeof h + payload) {
      die(std::string("fuse ") + what + ": no reply of the expected size");
    }
    std::memcpy(&h, replies[0].data(), sizeof h);
    if (h.error != 0) die(std::string("fuse ") + what + ": error " + std::to_string(h.error));
    return replies[0];
  }

  bool fuseRead() {
    fuse_session_->send(FUSE_READ, fuse_node_, ::getuid(), fuse_read_args_);
    const auto& replies = fuse_session_->replies();
    return replies.size() == 1 && replies[0].size() == sizeof(fuse_out_header) + 4096;
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<FsCache> cache_;
  std::unique_ptr<LocalVault> vault_;
  std::unique_ptr<LocalAuth> auth_;
  std::string token_;
  std::optional<PermissionTable> table_;
  std::unique_ptr<FsCache> small_cache_;
  std::vector<VaultPath> fill_paths_;
  std::size_t next_fill_ = 0;
  std::string fill_data_ = std::string(4096, 'f');
  MetricsRegistry metrics_;
  std::unique_ptr<http::ApiHandler> handler_;
  std::string http_request_;
  std::unique_ptr<FuseFrontend> fuse_;
  std::unique_ptr<UnmountedSession> fuse_session_;
  std::uint64_t fuse_node_ = 0;
  std::string fuse_read_args_;
  std::unique_ptr<ipc::CapnpVaultClient> capnp_;
  std::unique_ptr<ipc::ProtoVaultClient> proto_;
};

struct Measured {
  std::string name;
  std::string what;
  int iterations = 0;
  std::uint64_t allocations = 0;
  std::uint64_t instructions = 0;  // filled from the callgrind dump (0 without callgrind)
};

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Measures every selected op on this thread. Returns the measurements in run order.
std::vector<Measured> measure(const Options& o) {
  World world;
  std::vector<Measured> out;
  for (Op& op : world.ops(o)) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), op.name) == o.only.end()) {
      continue;
    }
    for (int i = 0; i < o.warmup; ++i) {
      if (!op.run()) die(op.name + ": the operation failed during the warm-up");
    }
    bool ok = true;
    CALLGRIND_ZERO_STATS;
    const std::uint64_t a0 = allocationsSoFar();
    CALLGRIND_TOGGLE_COLLECT;
    for (int i = 0; i < o.iterations; ++i) ok &= op.run();
    CALLGRIND_TOGGLE_COLLECT;
    const std::uint64_t allocations = allocationsSoFar() - a0;
    CALLGRIND_DUMP_STATS_AT(op.name.c_str());
    if (!ok) die(op.name + ": the operation failed");
    out.push_back({op.name, op.what, o.iterations, allocations, 0});
  }
  return out;
}

// The inner run's own record, one line per op: name \t iterations \t allocations \t what.
void writeRecord(const std::vector<Measured>& ms, const std::string& path) {
  std::ofstream f(path);
  for (const Measured& m : ms) {
    f << m.name << '\t' << m.iterations << '\t' << m.allocations << '\t' << m.what << '\n';
  }
  if (!f) die("cannot write " + path);
}

std::vector<Measured> readRecord(const std::string& path) {
  std::ifstream f(path);
  std::vector<Measured> out;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    Measured m;
    std::string it, al;
    std::getline(in, m.name, '\t');
    std::getline(in, it, '\t');
    std::getline(in, al, '\t');
    std::getline(in, m.what);
    m.iterations = std::stoi(it);
    m.allocations = std::stoull(al);
    out.push_back(std::move(m));
  }
  return out;
}

// Reads callgrind's dump files in `dir`: the total Ir of each dump triggered by
// CALLGRIND_DUMP_STATS_AT(name), keyed by name.
std::map<std::string, std::uint64_t> readDumps(const std::filesystem::path& dir) {
  static constexpr std::string_view kTrigger = "desc: Trigger: Client Request: ";
  std::map<std::string, std::uint64_t> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("callgrind.out", 0) != 0) continue;
    std::ifstream f(entry.path());
    std::string line, name;
    std::uint64_t total = 0;
    bool have_total = false;
    while (std::getline(f, line)) {
      if (line.rfind(kTrigger, 0) == 0) name = line.substr(kTrigger.size());
      if (line.rfind("totals: ", 0) == 0 || (!have_total && line.rfind("summary: ", 0) == 0)) {
        total = std::stoull(line.substr(line.find(' ') + 1));
        have_total = line.rfind("totals: ", 0) == 0 || have_total;
      }
    }
    if (!name.empty()) out[name] = total;
  }
  return out;
}

std::string toJson(const std::vector<Measured>& ms, const Options& o, double seconds) {
  std::string j = "{\n  \"tool\": \"seam-counts\",\n  \"format\": 1,\n";
  j += "  \"label\": " + jsonString(o.label) + ",\n";
  j += "  \"counter\": " + jsonString(o.callgrind ? "callgrind Ir" : "none") + ",\n";
  // The codec libraries behind the ipc/ ops: a Cap'n Proto upgrade moves their counts.
  j += "  \"codecs\": " + bench::codecVersions().dump() + ",\n";
  j += "  \"capnp_source\": " + jsonString(bench::capnpSource()) + ",\n";
  j += "  \"iterations\": " + std::to_string(o.iterations) + ",\n";
  j += "  \"warmup\": " + std::to_string(o.warmup) + ",\n";
  j += "  \"seconds\": " + fixed(seconds, 1) + ",\n";
  j += "  \"ops\": [\n";
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const Measured& m = ms[i];
    j += "    {\"op\": " + jsonString(m.name) +
         ", \"iterations\": " + std::to_string(m.iterations) +
         ", \"instructions\": " + std::to_string(m.instructions) +
         ", \"instructions_per_op\": " + fixed(double(m.instructions) / m.iterations, 1) +
         ", \"allocations_per_op\": " + fixed(double(m.allocations) / m.iterations, 2) +
         ", \"what\": " + jsonString(m.what) + "}" + (i + 1 < ms.size() ? "," : "") + "\n";
  }
  j += "  ]\n}\n";
  return j;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--out") {
      o.out = value();
    } else if (a == "--iterations") {
      o.iterations = std::stoi(value());
    } else if (a == "--warmup") {
      o.warmup = std::stoi(value());
    } else if (a == "--only") {
      std::stringstream in(value());
      for (std::string s; std::getline(in, s, ',');) o.only.push_back(s);
    } else if (a == "--label") {
      o.label = value();
    } else if (a == "--spin") {
      o.spin = std::stol(value());
    } else if (a == "--no-callgrind") {
      o.callgrind = false;
    } else if (a == "--inner") {
      o.inner = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << "seam-counts [--out FILE] [--iterations N] [--warmup N] [--only OP,OP] "
                   "[--label TEXT] [--spin K] [--no-callgrind]\n";
      std::exit(0);
    } else {
      die("unknown argument '" + a + "'");
    }
  }
  if (o.iterations < 1) die("--iterations must be at least 1");
  return o;
}

void emit(const std::string& json, const Options& o) {
  if (o.out.empty()) {
    std::cout << json;
    return;
  }
  std::ofstream f(o.out);
  f << json;
  if (!f) die("cannot write " + o.out);
}

// Runs this executable again under callgrind with `--inner --out RECORD`, then joins the dumps.
int runUnderCallgrind(int argc, char** argv, Options o) {
  char tmpl[] = "/tmp/seam-counts-cg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) die("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  const std::string record = (dir / "record.tsv").string();
  // The client's starting stack holds its argv and environment, so their sizes set the stack's
  // alignment, and libc's string functions take a few more or fewer instructions on a buffer of
  // another alignment. The run under callgrind gets the same ones wherever it starts: a fixed
  // environment, the executable through a symlink of fixed length, no --label or --out of varying
  // length, and the working directory is the temporary one.
  const std::filesystem::path exe = dir / "seam-counts";
  std::filesystem::create_symlink(std::filesystem::canonical("/proc/self/exe"), exe);
  std::vector<std::string> args = {"valgrind",
                                   "--tool=callgrind",
                                   "--collect-atstart=no",
                                   "--dump-instr=no",
                                   "--quiet",
                                   "--callgrind-out-file=" + (dir / "callgrind.out").string(),
                                   exe.string()};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" || a == "--label") {
      ++i;
      continue;
    }
    args.push_back(a);
  }
  args.insert(args.end(), {"--inner", "--out", record});
  std::string valgrind = "valgrind";
  for (const char* d : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    if (::access((std::string(d) + "valgrind").c_str(), X_OK) == 0) {
      valgrind = std::string(d) + "valgrind";
      break;
    }
  }
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "HOME=/tmp"};
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    std::vector<char*> cargv, cenv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    if (::chdir(dir.c_str()) != 0) std::_Exit(126);
    ::execve(valgrind.c_str(), cargv.data(), cenv.data());
    std::perror("seam-counts: exec valgrind");
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("the run under callgrind failed (status " + std::to_string(status) + "); files kept in " +
        dir.string());
  }
  std::vector<Measured> ms = readRecord(record);
  const auto dumps = readDumps(dir);
  for (Measured& m : ms) {
    auto it = dumps.find(m.name);
    if (it == dumps.end()) die("no callgrind dump for " + m.name + " in " + dir.string());
    m.instructions = it->second;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  emit(toJson(ms, o, seconds), o);
  return 0;
}

}  // namespace
}  // namespace seams::counts

int main(int argc, char** argv) {
  using namespace seams::counts;
  const Options o = parse(argc, argv);
  if (o.inner) {
    if (!RUNNING_ON_VALGRIND) die("--inner is for the run under callgrind");
    writeRecord(measure(o), o.out);
    return 0;
  }
  if (o.callgrind) return runUnderCallgrind(argc, argv, o);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ms = measure(o);
  emit(toJson(ms, o, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()),
       o);
  return 0;
}
