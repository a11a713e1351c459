// The libFuzzer entry point of one target: SEAMS_FUZZ_TARGET names its harness (harness.h).
// A broken invariant aborts, so libFuzzer reports it like a crash and keeps the input.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(
      spdlog::level::off);  // refusals are logged, and logging them is most of the time
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const seams::Status s =
      seams::fuzz::SEAMS_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!s.ok()) {
    std::fprintf(stderr, "seams fuzz: invariant broken: %s\n", s.toString().c_str());
    std::abort();
  }
  return 0;
}
