// The fuzz harnesses: one function per libFuzzer target, shared by the fuzz executables (the
// `fuzz` preset) and by fuzz_replay_test (every build), which replays each committed corpus and
// regression input through the same function.
//
// Each function feeds one input to the real code path: the parser, server or dispatcher as a
// deployment runs it, against the in-memory fakes (memory_vault.h, memory_auth.h) where a Vault
// or Auth is needed. It returns ok when the input was handled as the contract says, accepted or
// refused, and an `internal` Status naming the broken invariant otherwise; the fuzz executables
// abort on that, so libFuzzer keeps the input. Crashes, leaks and undefined behaviour are the
// sanitizers' to find. Harnesses that serve over a socket keep one server per process (started
// on first use) and reset the fakes before every input, so an input's outcome does not depend on
// the inputs run before it.
//
// Thread-safety: call from one thread (libFuzzer's).
#pragma once

#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace seams::fuzz {

// Percent-decoding and VaultPath::parse()/child(): a path that parses never escapes the root.
Status fuzzVaultPath(std::string_view input);
// parseConfig(): a validated Config that renders and re-parses to itself, or an error naming
// the source.
Status fuzzConfig(std::string_view input);
// Raw bytes of one HTTP/1.1 connection (any number of requests) into the real HttpFrontend on
// a loopback socket; every answer must be well-formed HTTP and never a 5xx.
Status fuzzHttp(std::string_view input);
// Raw bytes of one connection (Cap'n Proto RPC messages) into the real CapnpServer: the first
// byte picks the Vault or the Auth server.
Status fuzzCapnpServer(std::string_view input);
// Raw bytes of one connection (length-delimited protobuf frames) into the real ProtoServer.
Status fuzzProtoServer(std::string_view input);
// One Cap'n Proto params struct (first byte: which call) through the serve* functions the
// server dispatches to.
Status fuzzCapnpParams(std::string_view input);
// A sequence of kernel requests (decoded from the input) through FuseFrontend's libfuse ops.
Status fuzzFuse(std::string_view input);

struct Target {
  std::string_view name;  // the corpus folder: tests/fuzz/corpus/<name>/
  Status (*run)(std::string_view input);
};
// Every target, in the order fuzz.sh runs them.
const std::vector<Target>& targets();

}  // namespace seams::fuzz
