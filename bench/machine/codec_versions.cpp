#include "bench/machine/codec_versions.h"

#include <capnp/common.h>
#include <google/protobuf/stubs/common.h>
#include <grpcpp/version_info.h>

#include <string>

namespace seams::bench {
namespace {

std::string dotted(int major, int minor, int micro) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

}  // namespace

nlohmann::json codecVersions() {
  nlohmann::json v;
  v["capnp"] = dotted(CAPNP_VERSION_MAJOR, CAPNP_VERSION_MINOR, CAPNP_VERSION_MICRO);
  // GOOGLE_PROTOBUF_VERSION is major * 1000000 + minor * 1000 + micro (3021012 for 3.21.12).
  v["protobuf"] = dotted(GOOGLE_PROTOBUF_VERSION / 1000000, GOOGLE_PROTOBUF_VERSION / 1000 % 1000,
                         GOOGLE_PROTOBUF_VERSION % 1000);
  // The headers the build compiled against; Debian links gRPC dynamically, and its package pins
  // the library to the headers' version.
  v["grpc"] = GRPC_CPP_VERSION_STRING;
  return v;
}

std::string capnpSource() {
  return SEAMS_CAPNP_SOURCE;
}

std::string codecVersionsLine() {
  const nlohmann::json v = codecVersions();
  std::string line;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!line.empty()) line += ", ";
    line += it.key() + " " + it.value().get<std::string>();
    if (it.key() == "capnp") line += " (" + capnpSource() + ")";
  }
  return line;
}

}  // namespace seams::bench
