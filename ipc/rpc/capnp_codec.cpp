#include "ipc/rpc/capnp_codec.h"

#include "ipc/transport/wire.h"

namespace seams::ipc::capnpcodec {

void setError(wire::Error::Builder out, const Status& status) {
  out.setCode(static_cast<std::uint32_t>(status.code()));
  out.setMessage(asText(status.message()));
}

void toWire(const FileAttr& in, wire::FileAttr::Builder out) {
  out.setType(in.type == FileType::directory ? wire::FileType::DIRECTORY : wire::FileType::FILE);
  out.setSize(in.size);
  out.setVersion(in.version);
  out.setMtimeNs(in.mtime_ns);
  out.setMode(in.mode);
  out.setInode(in.inode);
  out.setAtimeNs(in.atime_ns);
  out.setCtimeNs(in.ctime_ns);
  out.setNlink(in.nlink);
  out.setOwnerSet(in.owner_set);
  out.setUid(in.uid);
  out.setGid(in.gid);
}

FileAttr fromWire(wire::FileAttr::Reader in) {
  FileAttr a;
  a.type = in.getType() == wire::FileType::DIRECTORY ? FileType::directory : FileType::file;
  a.size = in.getSize();
  a.version = in.getVersion();
  a.mtime_ns = in.getMtimeNs();
  a.mode = in.getMode();
  a.inode = in.getInode();
  a.atime_ns = in.getAtimeNs();
  a.ctime_ns = in.getCtimeNs();
  a.nlink = in.getNlink();
  a.owner_set = in.getOwnerSet();
  a.uid = in.getUid();
  a.gid = in.getGid();
  return a;
}

void toWire(const Principal& in, wire::Principal::Builder out) {
  out.setUser(asText(in.user));
  auto groups = out.initGroups(static_cast<unsigned>(in.groups.size()));
  for (unsigned i = 0; i < in.groups.size(); ++i) groups.set(i, asText(in.groups[i]));
}

Principal fromWire(wire::Principal::Reader in) {
  Principal p;
  p.user = std::string(view(in.getUser()));
  for (auto g : in.getGroups()) p.groups.emplace_back(view(g));
  return p;
}

void toWire(const Rule& in, wire::Rule::Builder out) {
  out.setSubjectKind(in.subject_kind == Rule::Subject::group ? wire::Rule::Subject::GROUP
                                                             : wire::Rule::Subject::USER);
  out.setSubject(asText(in.subject));
  out.setPrefix(asText(in.prefix.str()));
  out.setAccess(in.access);
  out.setEffect(in.effect == Rule::Effect::deny ? wire::Rule::Effect::DENY
                                                : wire::Rule::Effect::ALLOW);
}

Result<Rule> fromWire(wire::Rule::Reader in) {
  auto prefix = VaultPath::parse(view(in.getPrefix()));
  if (!prefix) return prefix.status();
  if (in.getAccess() & ~kAllAccess)
    return Status(Errc::invalid_argument, "rule: unknown access bits");
  Rule r;
  switch (in.getSubjectKind()) {
    case wire::Rule::Subject::USER:
      r.subject_kind = Rule::Subject::user;
      break;
    case wire::Rule::Subject::GROUP:
      r.subject_kind = Rule::Subject::group;
      break;
    default:
      return Status(Errc::invalid_argument, "rule: unknown subject kind");
  }
  switch (in.getEffect()) {
    case wire::Rule::Effect::ALLOW:
      r.effect = Rule::Effect::allow;
      break;
    case wire::Rule::Effect::DENY:
      r.effect = Rule::Effect::deny;
      break;
    default:
      return Status(Errc::invalid_argument, "rule: unknown effect");
  }
  r.subject = std::string(view(in.getSubject()));
  r.prefix = std::move(*prefix);
  r.access = in.getAccess();
  return r;
}

void toWire(const ChangeEvent& in, wire::ChangeEvent::Builder out) {
  out.setKind(static_cast<wire::ChangeEvent::Kind>(static_cast<std::uint16_t>(in.kind)));
  out.setPath(asText(in.path.str()));
  out.setOldPath(asText(in.old_path.str()));
  out.setVersion(in.version);
  out.setInode(in.inode);
}

Result<ChangeEvent> fromWire(wire::ChangeEvent::Reader in) {
  ChangeEvent ev;
  auto path = VaultPath::parse(view(in.getPath()));
  if (!path) return path.status();
  auto old_path =
      in.hasOldPath() ? VaultPath::parse(view(in.getOldPath())) : Result<VaultPath>(*path);
  if (!old_path) return old_path.status();
  auto kind = static_cast<std::uint16_t>(in.getKind());
  // An unknown kind from a newer peer is handled as `modified`: invalidate (SCHEMA_EVOLUTION.md).
  ev.kind = kind <= 3 ? static_cast<ChangeEvent::Kind>(kind) : ChangeEvent::Kind::modified;
  ev.path = std::move(*path);
  ev.old_path = std::move(*old_path);
  ev.version = in.getVersion();
  ev.inode = in.getInode();
  return ev;
}

void toWire(const AuthEvent& in, wire::AuthEvent::Builder out) {
  out.setKind(in.kind == AuthEvent::Kind::session_ended ? wire::AuthEvent::Kind::SESSION_ENDED
                                                        : wire::AuthEvent::Kind::RULES_CHANGED);
  out.setTokenId(asText(in.token_id));
  out.setUser(asText(in.user));
}

AuthEvent fromWire(wire::AuthEvent::Reader in) {
  AuthEvent ev;
  ev.kind = in.getKind() == wire::AuthEvent::Kind::SESSION_ENDED ? AuthEvent::Kind::session_ended
                                                                 : AuthEvent::Kind::rules_changed;
  ev.token_id = std::string(view(in.getTokenId()));
  ev.user = std::string(view(in.getUser()));
  return ev;
}

void toWire(const AttrChange& in, wire::AttrChange::Builder out) {
  out.setWhat(in.what);
  out.setMode(in.mode);
  out.setUid(in.uid);
  out.setGid(in.gid);
  out.setAtimeNs(in.atime_ns);
  out.setMtimeNs(in.mtime_ns);
}

AttrChange fromWire(wire::AttrChange::Reader in) {
  AttrChange out;
  out.what = in.getWhat();
  out.mode = in.getMode();
  out.uid = in.getUid();
  out.gid = in.getGid();
  out.atime_ns = in.getAtimeNs();
  out.mtime_ns = in.getMtimeNs();
  return out;
}

void toWire(const OpenedFile& in, wire::OpenedFile::Builder out) {
  out.setHandle(in.handle);
  toWire(in.attr, out.initAttr());
}

OpenedFile fromWire(wire::OpenedFile::Reader in) {
  return OpenedFile{in.getHandle(), fromWire(in.getAttr())};
}

capnp::ReaderOptions readerOptions(std::size_t max_bytes) {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = max_bytes / sizeof(capnp::word);
  o.nestingLimit = 16;
  return o;
}

// ---- serving ------------------------------------------------------------------------------

namespace {

// Parses a peer's path; on failure writes the error and returns nullopt.
template <typename Results>
std::optional<VaultPath> parsePath(capnp::Text::Reader raw, Results& r) {
  auto p = VaultPath::parse(view(raw));
  if (!p) {
    setError(r.initError(), p.status());
    return std::nullopt;
  }
  return std::move(*p);
}

template <typename Results>
void answerAttr(const Result<FileAttr>& res, Results& r) {
  if (!res) return setError(r.initError(), res.status());
  toWire(*res, r.initAttr());
}

template <typename Results>
void answerStatus(const Status& st, Results& r) {
  if (!st.ok()) setError(r.initError(), st);
}

template <typename Results>
void answerPrincipal(const Result<Principal>& res, Results& r) {
  if (!res) return setError(r.initError(), res.status());
  toWire(*res, r.initPrincipal());
}

}  // namespace

void serveStat(Vault& v, V::StatParams::Reader p, V::StatResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerAttr(v.stat(*path), r);
}

void serveList(Vault& v, V::ListParams::Reader p, V::ListResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  auto res = v.list(*path);
  if (!res) return setError(r.initError(), res.status());
  auto out = r.initEntries(static_cast<unsigned>(res->size()));
  for (unsigned i = 0; i < res->size(); ++i) {
    out[i].setName(asText((*res)[i].name));
    toWire((*res)[i].attr, out[i].initAttr());
  }
}

void serveRead(Vault& v, V::ReadParams::Reader p, V::ReadResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  auto res = v.read(*path, p.getOffset(), p.getLength());
  if (!res) return setError(r.initError(), res.status());
  r.setData(asData(res->data));
  r.setVersion(res->version);
  r.setFileSize(res->file_size);
}

void serveWrite(Vault& v, V::WriteParams::Reader p, V::WriteResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) {
    answerAttr(v.write(*path, p.getOffset(), view(p.getData())), r);
  }
}

void servePut(Vault& v, V::PutParams::Reader p, V::PutResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerAttr(v.put(*path, view(p.getData())), r);
}

void serveCreate(Vault& v, V::CreateParams::Reader p, V::CreateResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerAttr(v.create(*path, p.getMode()), r);
}

void serveMkdir(Vault& v, V::MkdirParams::Reader p, V::MkdirResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerAttr(v.mkdir(*path, p.getMode()), r);
}

void serveUnlink(Vault& v, V::UnlinkParams::Reader p, V::UnlinkResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerStatus(v.unlink(*path), r);
}

void serveRmdir(Vault& v, V::RmdirParams::Reader p, V::RmdirResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerStatus(v.rmdir(*path), r);
}

void serveRename(Vault& v, V::RenameParams::Reader p, V::RenameResults::Builder r) {
  auto from = parsePath(p.getFrom(), r);
  if (!from) return;
  auto to = parsePath(p.getTo(), r);
  if (!to) return;
  answerAttr(v.rename(*from, *to), r);
}

void serveTruncate(Vault& v, V::TruncateParams::Reader p, V::TruncateResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerAttr(v.truncate(*path, p.getSize()), r);
}

void serveSetAttributes(Vault& v, V::SetAttributesParams::Reader p,
                        V::SetAttributesResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  answerAttr(v.setAttributes(*path, fromWire(p.getChange())), r);
}

void serveFsync(Vault& v, V::FsyncParams::Reader p, V::FsyncResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerStatus(v.fsync(*path), r);
}

void serveReconcile(Vault& v, V::ReconcileParams::Reader p, V::ReconcileResults::Builder r) {
  if (auto path = parsePath(p.getPath(), r)) answerStatus(v.reconcile(*path), r);
}

void serveOpen(Vault& v, V::OpenParams::Reader p, V::OpenResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  auto res = v.open(*path, p.getMode());
  if (!res) return setError(r.initError(), res.status());
  toWire(*res, r.initOpened());
}

void serveReadHandle(Vault& v, V::ReadHandleParams::Reader p, V::ReadHandleResults::Builder r) {
  auto res = v.readHandle(p.getHandle(), p.getOffset(), p.getLength());
  if (!res) return setError(r.initError(), res.status());
  r.setData(asData(res->data));
  r.setVersion(res->version);
  r.setFileSize(res->file_size);
}

void serveWriteHandle(Vault& v, V::WriteHandleParams::Reader p, V::WriteHandleResults::Builder r) {
  answerAttr(v.writeHandle(p.getHandle(), p.getOffset(), view(p.getData())), r);
}

void serveStatHandle(Vault& v, V::StatHandleParams::Reader p, V::StatHandleResults::Builder r) {
  answerAttr(v.statHandle(p.getHandle()), r);
}

void serveTruncateHandle(Vault& v, V::TruncateHandleParams::Reader p,
                         V::TruncateHandleResults::Builder r) {
  answerAttr(v.truncateHandle(p.getHandle(), p.getSize()), r);
}

void serveFsyncHandle(Vault& v, V::FsyncHandleParams::Reader p, V::FsyncHandleResults::Builder r) {
  answerStatus(v.fsyncHandle(p.getHandle()), r);
}

void serveReleaseHandle(Vault& v, V::ReleaseHandleParams::Reader p,
                        V::ReleaseHandleResults::Builder r) {
  answerStatus(v.release(p.getHandle()), r);
}

void serveProbe(Vault& v, V::ProbeParams::Reader p, V::ProbeResults::Builder r) {
  auto res = v.probe(p.getWorkUs(), p.getReplyBytes());
  if (!res) return setError(r.initError(), res.status());
  r.setData(asData(res->data));
  r.setIterationsPerUs(res->iterations_per_us);
}

void serveLogin(Auth& a, A::LoginParams::Reader p, A::LoginResults::Builder r) {
  auto res = a.login(view(p.getUser()), view(p.getPassword()));
  if (!res) return setError(r.initError(), res.status());
  auto s = r.initSession();
  s.setToken(asText(res->token));
  s.setExpiresAtMs(res->expires_at_ms);
}

void serveLogout(Auth& a, A::LogoutParams::Reader p, A::LogoutResults::Builder r) {
  answerStatus(a.logout(view(p.getToken())), r);
}

void serveValidate(Auth& a, A::ValidateParams::Reader p, A::ValidateResults::Builder r) {
  answerPrincipal(a.validate(view(p.getToken())), r);
}

void serveCheck(Auth& a, A::CheckParams::Reader p, A::CheckResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  auto access = accessFromWire(p.getAccess());
  if (!access) return setError(r.initError(), access.status());
  answerStatus(a.check(fromWire(p.getPrincipal()), *path, *access), r);
}

void serveAuthorize(Auth& a, A::AuthorizeParams::Reader p, A::AuthorizeResults::Builder r) {
  auto path = parsePath(p.getPath(), r);
  if (!path) return;
  auto access = accessFromWire(p.getAccess());
  if (!access) return setError(r.initError(), access.status());
  answerPrincipal(a.authorize(view(p.getToken()), *path, *access), r);
}

void servePrincipalForUid(Auth& a, A::PrincipalForUidParams::Reader p,
                          A::PrincipalForUidResults::Builder r) {
  answerPrincipal(a.principalForUid(p.getUid()), r);
}

void serveGrant(Auth& a, A::GrantParams::Reader p, A::GrantResults::Builder r) {
  auto rule = fromWire(p.getRule());
  if (!rule) return setError(r.initError(), rule.status());
  answerStatus(a.grant(fromWire(p.getAdmin()), *rule), r);
}

void serveRevoke(Auth& a, A::RevokeParams::Reader p, A::RevokeResults::Builder r) {
  auto rule = fromWire(p.getRule());
  if (!rule) return setError(r.initError(), rule.status());
  answerStatus(a.revoke(fromWire(p.getAdmin()), *rule), r);
}

void serveRules(Auth& a, A::RulesParams::Reader, A::RulesResults::Builder r) {
  auto res = a.rules();
  if (!res) return setError(r.initError(), res.status());
  auto out = r.initRules(static_cast<unsigned>(res->size()));
  for (unsigned i = 0; i < res->size(); ++i) toWire((*res)[i], out[i]);
}

}  // namespace seams::ipc::capnpcodec
