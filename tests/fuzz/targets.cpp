#include "tests/fuzz/harness.h"

namespace seams::fuzz {

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"http", &fuzzHttp},
      {"vault_path", &fuzzVaultPath},
      {"config", &fuzzConfig},
      {"capnp_server", &fuzzCapnpServer},
      {"capnp_params", &fuzzCapnpParams},
      {"proto_server", &fuzzProtoServer},
      {"fuse", &fuzzFuse},
  };
  return all;
}

}  // namespace seams::fuzz
