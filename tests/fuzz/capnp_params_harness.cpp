// fuzzCapnpParams: one Cap'n Proto message read with the server's reader limits, traversed as
// GuardedMessageStream does, then taken as the params of one call (the first input byte picks
// which) and served by the same serve* function the RPC server dispatches to. Cheaper per input
// than fuzzCapnpServer, so the fuzzer explores the params decoding more deeply; the server target
// covers what lies around it. Malformed input must end in a kj::Exception (the server closes the
// connection), never a crash.
#include <capnp/serialize.h>

#include <cstring>

#include "ipc/rpc/capnp_codec.h"
#include "tests/fuzz/harness.h"
#include "tests/fuzz/memory_auth.h"
#include "tests/fuzz/memory_vault.h"

namespace seams::fuzz {
namespace {

template <typename Params, typename Results, typename Local, typename Serve>
void serveAs(capnp::MessageReader& in, Local& local, Serve serve) {
  capnp::MallocMessageBuilder out;
  serve(local, in.getRoot<Params>(), out.initRoot<Results>());
}

}  // namespace

Status fuzzCapnpParams(std::string_view input) {
  using namespace ipc::capnpcodec;  // NOLINT(google-build-using-namespace)
  using wire::Auth;
  using wire::Vault;
  static MemoryVault* vault = new MemoryVault();
  static MemoryAuth* auth = new MemoryAuth();
  if (input.size() < 1 + sizeof(capnp::word)) return okStatus();
  vault->reset();
  auth->reset();
  const unsigned which = static_cast<unsigned char>(input[0]);
  input.remove_prefix(1);
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(input.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), input.data(), words.size() * sizeof(capnp::word));
  try {
    capnp::FlatArrayMessageReader in(words, readerOptions(1 << 20));
    in.getRoot<capnp::AnyPointer>().targetSize();
    switch (which % 24) {
      case 0:
        serveAs<Vault::StatParams, Vault::StatResults>(in, *vault, serveStat);
        break;
      case 1:
        serveAs<Vault::ListParams, Vault::ListResults>(in, *vault, serveList);
        break;
      case 2:
        serveAs<Vault::ReadParams, Vault::ReadResults>(in, *vault, serveRead);
        break;
      case 3:
        serveAs<Vault::WriteParams, Vault::WriteResults>(in, *vault, serveWrite);
        break;
      case 4:
        serveAs<Vault::PutParams, Vault::PutResults>(in, *vault, servePut);
        break;
      case 5:
        serveAs<Vault::CreateParams, Vault::CreateResults>(in, *vault, serveCreate);
        break;
      case 6:
        serveAs<Vault::MkdirParams, Vault::MkdirResults>(in, *vault, serveMkdir);
        break;
      case 7:
        serveAs<Vault::UnlinkParams, Vault::UnlinkResults>(in, *vault, serveUnlink);
        break;
      case 8:
        serveAs<Vault::RmdirParams, Vault::RmdirResults>(in, *vault, serveRmdir);
        break;
      case 9:
        serveAs<Vault::RenameParams, Vault::RenameResults>(in, *vault, serveRename);
        break;
      case 10:
        serveAs<Vault::TruncateParams, Vault::TruncateResults>(in, *vault, serveTruncate);
        break;
      case 11:
        serveAs<Vault::FsyncParams, Vault::FsyncResults>(in, *vault, serveFsync);
        break;
      case 12:
        serveAs<Vault::ReconcileParams, Vault::ReconcileResults>(in, *vault, serveReconcile);
        break;
      case 13:
        serveAs<Auth::LoginParams, Auth::LoginResults>(in, *auth, serveLogin);
        break;
      case 14:
        serveAs<Auth::LogoutParams, Auth::LogoutResults>(in, *auth, serveLogout);
        break;
      case 15:
        serveAs<Auth::ValidateParams, Auth::ValidateResults>(in, *auth, serveValidate);
        break;
      case 16:
        serveAs<Auth::CheckParams, Auth::CheckResults>(in, *auth, serveCheck);
        break;
      case 17:
        serveAs<Auth::AuthorizeParams, Auth::AuthorizeResults>(in, *auth, serveAuthorize);
        break;
      case 18:
        serveAs<Auth::PrincipalForUidParams, Auth::PrincipalForUidResults>(in, *auth,
                                                                           servePrincipalForUid);
        break;
      case 19:
        serveAs<Auth::GrantParams, Auth::GrantResults>(in, *auth, serveGrant);
        break;
      case 20:
        serveAs<Auth::RevokeParams, Auth::RevokeResults>(in, *auth, serveRevoke);
        break;
      case 21:
        serveAs<Auth::RulesParams, Auth::RulesResults>(in, *auth, serveRules);
        break;
      case 22:
        (void)fromWire(in.getRoot<wire::ChangeEvent>());
        break;
      default:
        (void)fromWire(in.getRoot<wire::Rule>());
        break;
    }
  } catch (const kj::Exception&) {
    // Refused: the server closes the connection.
  }
  return okStatus();
}

}  // namespace seams::fuzz
