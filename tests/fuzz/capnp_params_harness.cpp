// fuzzCapnpParams: one Cap'n Proto message read with the server's reader limits, traversed as
// GuardedMessageStream does, then taken as the params of one call (the first input byte picks
// which) and served by the same serve* function the RPC server dispatches to. Cheaper per input
// than fuzzCapnpServer, so the fuzzer explores the params decoding more deeply; the server target
// covers what lies around it. Malformed input must end in a kj::Exception (the server closes the
// connection), never a crash. Selectors 24..30 are the handle calls (added after the first
// corpus, whose selectors are all below 24 and so keep their meaning).
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
    switch (which % 32) {
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
      case 24:
        serveAs<Vault::OpenParams, Vault::OpenResults>(in, *vault, serveOpen);
        break;
      case 25:
        serveAs<Vault::ReadHandleParams, Vault::ReadHandleResults>(in, *vault, serveReadHandle);
        break;
      case 26:
        serveAs<Vault::WriteHandleParams, Vault::WriteHandleResults>(in, *vault, serveWriteHandle);
        break;
      case 27:
        serveAs<Vault::StatHandleParams, Vault::StatHandleResults>(in, *vault, serveStatHandle);
        break;
      case 28:
        serveAs<Vault::TruncateHandleParams, Vault::TruncateHandleResults>(in, *vault,
                                                                           serveTruncateHandle);
        break;
      case 29:
        serveAs<Vault::FsyncHandleParams, Vault::FsyncHandleResults>(in, *vault, serveFsyncHandle);
        break;
      case 30:
        serveAs<Vault::ReleaseHandleParams, Vault::ReleaseHandleResults>(in, *vault,
                                                                         serveReleaseHandle);
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
