// Cap'n Proto codec: conversions between the C++ types of core/ and the wire structs of
// vault.capnp / auth.capnp, and one `serve*` function per call that answers it from a local
// object. The RPC server (capnp_server.h) and the in-process loopback of the client stubs
// (capnp_client.h) share these functions, so both exercise exactly the same codec.
//
// Thread-safety: stateless; a builder/reader belongs to the thread that made it.
#pragma once

#include <capnp/message.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "core/auth/auth.h"
#include "core/common/status.h"
#include "core/vault/vault.h"
#include "ipc/rpc/auth.capnp.h"
#include "ipc/rpc/common.capnp.h"
#include "ipc/rpc/vault.capnp.h"

namespace seams::ipc::capnpcodec {

inline std::string_view view(capnp::Text::Reader t) {
  return {t.begin(), t.size()};
}
inline std::string_view view(capnp::Data::Reader d) {
  return {reinterpret_cast<const char*>(d.begin()), d.size()};
}
// A Text reader over a std::string: capnp's Text::Reader requires the byte after the text to be
// NUL, which a std::string guarantees and a std::string_view does not (use setText for those).
inline capnp::Text::Reader asText(const std::string& s) {
  return {s.data(), s.size()};
}
inline capnp::Text::Reader asText(std::string_view) = delete;
// Copies any string_view into a Text field through the field's init function:
//   setText(params.initToken(token.size()), token);
inline void setText(capnp::Text::Builder field, std::string_view s) {
  std::copy(s.begin(), s.end(), field.begin());
}
inline capnp::Data::Reader asData(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

void setError(wire::Error::Builder out, const Status& status);
// The error a results struct carries (ok when its `error` is null).
template <typename Results>
Status errorOf(Results r) {
  if (!r.hasError()) return okStatus();
  auto e = r.getError();
  Errc code = errcFromWire(e.getCode());
  if (code == Errc::ok) return Status(Errc::internal, "peer sent an error with code ok");
  return Status(code, std::string(view(e.getMessage())));
}

void toWire(const FileAttr& in, wire::FileAttr::Builder out);
FileAttr fromWire(wire::FileAttr::Reader in);
void toWire(const Principal& in, wire::Principal::Builder out);
Principal fromWire(wire::Principal::Reader in);
void toWire(const Rule& in, wire::Rule::Builder out);
Result<Rule> fromWire(wire::Rule::Reader in);
void toWire(const ChangeEvent& in, wire::ChangeEvent::Builder out);
Result<ChangeEvent> fromWire(wire::ChangeEvent::Reader in);
void toWire(const AuthEvent& in, wire::AuthEvent::Builder out);
AuthEvent fromWire(wire::AuthEvent::Reader in);
void toWire(const AttrChange& in, wire::AttrChange::Builder out);
AttrChange fromWire(wire::AttrChange::Reader in);
void toWire(const OpenedFile& in, wire::OpenedFile::Builder out);
OpenedFile fromWire(wire::OpenedFile::Reader in);

// ---- serving from a local object: one function per call ------------------------------------
// Each decodes params (paths are parsed again: never trust a peer), calls the local object and
// encodes the outcome into results. They never throw for bad input.
using V = wire::Vault;
void serveStat(Vault& v, V::StatParams::Reader p, V::StatResults::Builder r);
void serveList(Vault& v, V::ListParams::Reader p, V::ListResults::Builder r);
void serveRead(Vault& v, V::ReadParams::Reader p, V::ReadResults::Builder r);
void serveWrite(Vault& v, V::WriteParams::Reader p, V::WriteResults::Builder r);
void servePut(Vault& v, V::PutParams::Reader p, V::PutResults::Builder r);
void serveCreate(Vault& v, V::CreateParams::Reader p, V::CreateResults::Builder r);
void serveMkdir(Vault& v, V::MkdirParams::Reader p, V::MkdirResults::Builder r);
void serveUnlink(Vault& v, V::UnlinkParams::Reader p, V::UnlinkResults::Builder r);
void serveRmdir(Vault& v, V::RmdirParams::Reader p, V::RmdirResults::Builder r);
void serveRename(Vault& v, V::RenameParams::Reader p, V::RenameResults::Builder r);
void serveTruncate(Vault& v, V::TruncateParams::Reader p, V::TruncateResults::Builder r);
void serveSetAttributes(Vault& v, V::SetAttributesParams::Reader p,
                        V::SetAttributesResults::Builder r);
void serveFsync(Vault& v, V::FsyncParams::Reader p, V::FsyncResults::Builder r);
void serveReconcile(Vault& v, V::ReconcileParams::Reader p, V::ReconcileResults::Builder r);
// Handle calls: `v` is the connection's view of the vault (ConnectionVault), which checks that
// the handle is its client's own.
void serveOpen(Vault& v, V::OpenParams::Reader p, V::OpenResults::Builder r);
void serveReadHandle(Vault& v, V::ReadHandleParams::Reader p, V::ReadHandleResults::Builder r);
void serveWriteHandle(Vault& v, V::WriteHandleParams::Reader p, V::WriteHandleResults::Builder r);
void serveStatHandle(Vault& v, V::StatHandleParams::Reader p, V::StatHandleResults::Builder r);
void serveTruncateHandle(Vault& v, V::TruncateHandleParams::Reader p,
                         V::TruncateHandleResults::Builder r);
void serveFsyncHandle(Vault& v, V::FsyncHandleParams::Reader p, V::FsyncHandleResults::Builder r);
void serveReleaseHandle(Vault& v, V::ReleaseHandleParams::Reader p,
                        V::ReleaseHandleResults::Builder r);
void serveProbe(Vault& v, V::ProbeParams::Reader p, V::ProbeResults::Builder r);

using A = wire::Auth;
void serveLogin(Auth& a, A::LoginParams::Reader p, A::LoginResults::Builder r);
void serveLogout(Auth& a, A::LogoutParams::Reader p, A::LogoutResults::Builder r);
void serveValidate(Auth& a, A::ValidateParams::Reader p, A::ValidateResults::Builder r);
void serveCheck(Auth& a, A::CheckParams::Reader p, A::CheckResults::Builder r);
void serveAuthorize(Auth& a, A::AuthorizeParams::Reader p, A::AuthorizeResults::Builder r);
void servePrincipalForUid(Auth& a, A::PrincipalForUidParams::Reader p,
                          A::PrincipalForUidResults::Builder r);
void serveGrant(Auth& a, A::GrantParams::Reader p, A::GrantResults::Builder r);
void serveRevoke(Auth& a, A::RevokeParams::Reader p, A::RevokeResults::Builder r);
void serveRules(Auth& a, A::RulesParams::Reader p, A::RulesResults::Builder r);

// Reader limits for untrusted input: `max_bytes` bounds one message (checked against the segment
// table before any segment is read).
capnp::ReaderOptions readerOptions(std::size_t max_bytes);

}  // namespace seams::ipc::capnpcodec
