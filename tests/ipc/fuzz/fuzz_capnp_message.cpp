// libFuzzer: the Cap'n Proto message reader as the server uses it (segment table checked against
// the size limit, the whole message traversed), then every call's params decoded and served.
// Malformed input must end in a kj::Exception (the connection is closed), never a crash.
#include <capnp/serialize.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ipc/rpc/capnp_codec.h"
#include "tests/ipc/fuzz/null_objects.h"

namespace {

template <typename Params, typename Results, typename Serve, typename Local>
void serveAs(capnp::MessageReader& in, Local& local, Serve serve) {
  capnp::MallocMessageBuilder out;
  serve(local, in.getRoot<Params>(), out.initRoot<Results>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seams::ipc::capnpcodec;  // NOLINT
  using seams::wire::Auth;
  using seams::wire::Vault;
  static seams::fuzz::NullVault vault;
  static seams::fuzz::NullAuth auth;
  if (size < 8) return 0;
  // The first byte picks which call's params to read the message as.
  unsigned which = data[0];
  ++data;
  --size;
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  std::memcpy(words.begin(), data, words.size() * sizeof(capnp::word));
  try {
    capnp::FlatArrayMessageReader in(words, readerOptions(1 << 20));
    in.getRoot<capnp::AnyPointer>().targetSize();
    switch (which % 12) {
      case 0:
        serveAs<Vault::StatParams, Vault::StatResults>(in, vault, serveStat);
        break;
      case 1:
        serveAs<Vault::ListParams, Vault::ListResults>(in, vault, serveList);
        break;
      case 2:
        serveAs<Vault::ReadParams, Vault::ReadResults>(in, vault, serveRead);
        break;
      case 3:
        serveAs<Vault::WriteParams, Vault::WriteResults>(in, vault, serveWrite);
        break;
      case 4:
        serveAs<Vault::PutParams, Vault::PutResults>(in, vault, servePut);
        break;
      case 5:
        serveAs<Vault::RenameParams, Vault::RenameResults>(in, vault, serveRename);
        break;
      case 6:
        serveAs<Auth::LoginParams, Auth::LoginResults>(in, auth, serveLogin);
        break;
      case 7:
        serveAs<Auth::CheckParams, Auth::CheckResults>(in, auth, serveCheck);
        break;
      case 8:
        serveAs<Auth::AuthorizeParams, Auth::AuthorizeResults>(in, auth, serveAuthorize);
        break;
      case 9:
        serveAs<Auth::GrantParams, Auth::GrantResults>(in, auth, serveGrant);
        break;
      case 10:
        (void)fromWire(in.getRoot<seams::wire::ChangeEvent>());
        break;
      default:
        (void)fromWire(in.getRoot<seams::wire::Rule>());
        break;
    }
  } catch (const kj::Exception&) {
    // Refused: what the server does is close the connection.
  }
  return 0;
}
