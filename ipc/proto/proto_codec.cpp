#include "ipc/proto/proto_codec.h"

#include <fmt/format.h>

#include "ipc/transport/wire.h"

namespace seams::ipc::protocodec {

void appendFrame(const google::protobuf::MessageLite& message, std::string* out) {
  std::size_t size = message.ByteSizeLong();
  std::uint64_t v = size;
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
  std::size_t at = out->size();
  out->resize(at + size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out->data() + at));
}

FrameDecoder::Next FrameDecoder::next(std::string_view* frame, std::string* error) {
  // Compact consumed bytes once they dominate the buffer.
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  std::uint64_t length = 0;
  std::size_t i = pos_;
  for (int shift = 0;; shift += 7) {
    if (i >= buf_.size()) return Next::need_more;
    if (shift > 63 || i - pos_ >= 10) {
      *error = "frame length prefix is not a valid varint";
      return Next::error;
    }
    auto byte = static_cast<std::uint8_t>(buf_[i++]);
    length |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > max_) {
    *error = fmt::format("frame of {} bytes is over the limit of {} bytes", length, max_);
    return Next::error;
  }
  if (buf_.size() - i < length) return Next::need_more;
  *frame = std::string_view(buf_.data() + i, static_cast<std::size_t>(length));
  pos_ = i + static_cast<std::size_t>(length);
  return Next::frame;
}

void setError(const Status& status, pb::Error* out) {
  out->set_code(static_cast<std::uint32_t>(status.code()));
  out->set_message(status.message());
}

Status errorOf(const pb::Response& r) {
  if (!r.has_error()) return okStatus();
  Errc code = errcFromWire(r.error().code());
  if (code == Errc::ok) return Status(Errc::internal, "peer sent an error with code ok");
  return Status(code, r.error().message());
}

Status statusOf(const Result<pb::Response>& r) {
  if (!r) return r.status();
  return errorOf(*r);
}

Result<FileAttr> attrOf(const Result<pb::Response>& r) {
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  if (!r->has_attr()) return Status(Errc::internal, "response without attributes");
  return fromWire(r->attr());
}

Result<ProbeReply> probeOf(Result<pb::Response> r) {
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  if (!r->has_probe()) return Status(Errc::internal, "response without probe data");
  auto* p = r->mutable_probe();
  return ProbeReply{std::move(*p->mutable_data()), p->iterations_per_us()};
}

Result<Principal> principalOf(const Result<pb::Response>& r) {
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  if (!r->has_principal()) return Status(Errc::internal, "response without principal");
  return fromWire(r->principal());
}

void toWire(const FileAttr& in, pb::FileAttr* out) {
  out->set_type(in.type == FileType::directory ? pb::DIRECTORY : pb::FILE);
  out->set_size(in.size);
  out->set_version(in.version);
  out->set_mtime_ns(in.mtime_ns);
  out->set_mode(in.mode);
  out->set_inode(in.inode);
  out->set_atime_ns(in.atime_ns);
  out->set_ctime_ns(in.ctime_ns);
  out->set_nlink(in.nlink);
  out->set_owner_set(in.owner_set);
  out->set_uid(in.uid);
  out->set_gid(in.gid);
}

FileAttr fromWire(const pb::FileAttr& in) {
  FileAttr a;
  a.type = in.type() == pb::DIRECTORY ? FileType::directory : FileType::file;
  a.size = in.size();
  a.version = in.version();
  a.mtime_ns = in.mtime_ns();
  a.mode = in.mode();
  a.inode = in.inode();
  a.atime_ns = in.atime_ns();
  a.ctime_ns = in.ctime_ns();
  a.nlink = in.nlink();
  a.owner_set = in.owner_set();
  a.uid = in.uid();
  a.gid = in.gid();
  return a;
}

void toWire(const Principal& in, pb::Principal* out) {
  out->set_user(in.user);
  for (const auto& g : in.groups) out->add_groups(g);
}

Principal fromWire(const pb::Principal& in) {
  Principal p;
  p.user = in.user();
  p.groups.assign(in.groups().begin(), in.groups().end());
  return p;
}

void toWire(const Rule& in, pb::Rule* out) {
  out->set_subject_kind(in.subject_kind == Rule::Subject::group ? pb::Rule::GROUP : pb::Rule::USER);
  out->set_subject(in.subject);
  out->set_prefix(in.prefix.str());
  out->set_access(in.access);
  out->set_effect(in.effect == Rule::Effect::deny ? pb::Rule::DENY : pb::Rule::ALLOW);
}

Result<Rule> fromWire(const pb::Rule& in) {
  auto prefix = VaultPath::parse(in.prefix());
  if (!prefix) return prefix.status();
  if (in.access() & ~static_cast<std::uint32_t>(kAllAccess)) {
    return Status(Errc::invalid_argument, "rule: unknown access bits");
  }
  Rule r;
  switch (in.subject_kind()) {
    case pb::Rule::USER:
      r.subject_kind = Rule::Subject::user;
      break;
    case pb::Rule::GROUP:
      r.subject_kind = Rule::Subject::group;
      break;
    default:
      return Status(Errc::invalid_argument, "rule: unknown subject kind");
  }
  switch (in.effect()) {
    case pb::Rule::ALLOW:
      r.effect = Rule::Effect::allow;
      break;
    case pb::Rule::DENY:
      r.effect = Rule::Effect::deny;
      break;
    default:
      return Status(Errc::invalid_argument, "rule: unknown effect");
  }
  r.subject = in.subject();
  r.prefix = std::move(*prefix);
  r.access = static_cast<AccessMask>(in.access());
  return r;
}

void toWire(const ChangeEvent& in, pb::ChangeEvent* out) {
  out->set_kind(static_cast<pb::ChangeEvent::Kind>(in.kind));
  out->set_path(in.path.str());
  out->set_old_path(in.old_path.str());
  out->set_version(in.version);
  out->set_inode(in.inode);
}

Result<ChangeEvent> fromWire(const pb::ChangeEvent& in) {
  auto path = VaultPath::parse(in.path());
  if (!path) return path.status();
  auto old_path =
      in.old_path().empty() ? Result<VaultPath>(*path) : VaultPath::parse(in.old_path());
  if (!old_path) return old_path.status();
  ChangeEvent ev;
  // Unknown kinds from a newer peer are handled as `modified` (SCHEMA_EVOLUTION.md).
  ev.kind = in.kind() >= 0 && in.kind() <= 3 ? static_cast<ChangeEvent::Kind>(in.kind())
                                             : ChangeEvent::Kind::modified;
  ev.path = std::move(*path);
  ev.old_path = std::move(*old_path);
  ev.version = in.version();
  ev.inode = in.inode();
  return ev;
}

void toWire(const AuthEvent& in, pb::AuthEvent* out) {
  out->set_kind(in.kind == AuthEvent::Kind::session_ended ? pb::AuthEvent::SESSION_ENDED
                                                          : pb::AuthEvent::RULES_CHANGED);
  out->set_token_id(in.token_id);
  out->set_user(in.user);
}

AuthEvent fromWire(const pb::AuthEvent& in) {
  AuthEvent ev;
  ev.kind = in.kind() == pb::AuthEvent::SESSION_ENDED ? AuthEvent::Kind::session_ended
                                                      : AuthEvent::Kind::rules_changed;
  ev.token_id = in.token_id();
  ev.user = in.user();
  return ev;
}

void toWire(const AttrChange& in, pb::SetAttributesArg* out) {
  out->set_what(in.what);
  out->set_mode(in.mode);
  out->set_uid(in.uid);
  out->set_gid(in.gid);
  out->set_atime_ns(in.atime_ns);
  out->set_mtime_ns(in.mtime_ns);
}

AttrChange fromWire(const pb::SetAttributesArg& in) {
  AttrChange out;
  out.what = in.what();
  out.mode = in.mode();
  out.uid = in.uid();
  out.gid = in.gid();
  out.atime_ns = in.atime_ns();
  out.mtime_ns = in.mtime_ns();
  return out;
}

void toWire(const OpenedFile& in, pb::OpenedFile* out) {
  out->set_handle(in.handle);
  toWire(in.attr, out->mutable_attr());
}

OpenedFile fromWire(const pb::OpenedFile& in) {
  return OpenedFile{in.handle(), fromWire(in.attr())};
}

namespace {

void answer(const Status& st, pb::Response* out) {
  if (!st.ok()) setError(st, out->mutable_error());
}

void answer(const Result<FileAttr>& res, pb::Response* out) {
  if (!res) return setError(res.status(), out->mutable_error());
  toWire(*res, out->mutable_attr());
}

void answer(const Result<Principal>& res, pb::Response* out) {
  if (!res) return setError(res.status(), out->mutable_error());
  toWire(*res, out->mutable_principal());
}

}  // namespace

void ProtoDispatcher::handle(const pb::Request& in, pb::Response* out) {
  out->set_id(in.id());
  auto fail = [out](Errc code, std::string msg) {
    setError(Status(code, std::move(msg)), out->mutable_error());
  };
  auto path = [&](const std::string& raw) -> std::optional<VaultPath> {
    auto p = VaultPath::parse(raw);
    if (!p) {
      setError(p.status(), out->mutable_error());
      return std::nullopt;
    }
    return std::move(*p);
  };
  using R = pb::Request;
  const auto c = in.call_case();
  bool is_vault = c >= R::kStat && c < R::kLogin;  // the Vault group, 10..39
  bool is_auth = c >= R::kLogin && c <= R::kAuthSubscribe;
  if (is_vault && vault_ == nullptr) return fail(Errc::not_supported, "no Vault on this socket");
  if (is_auth && auth_ == nullptr) return fail(Errc::not_supported, "no Auth on this socket");
  switch (c) {
    case R::kStat:
      if (auto p = path(in.stat().path())) answer(vault_->stat(*p), out);
      return;
    case R::kList: {
      auto p = path(in.list().path());
      if (!p) return;
      auto res = vault_->list(*p);
      if (!res) return setError(res.status(), out->mutable_error());
      auto* entries = out->mutable_entries();
      entries->mutable_entries()->Reserve(static_cast<int>(res->size()));
      for (const auto& e : *res) {
        auto* w = entries->add_entries();
        w->set_name(e.name);
        toWire(e.attr, w->mutable_attr());
      }
      return;
    }
    case R::kRead: {
      auto p = path(in.read().path());
      if (!p) return;
      auto res = vault_->read(*p, in.read().offset(), in.read().length());
      if (!res) return setError(res.status(), out->mutable_error());
      auto* r = out->mutable_read();
      r->set_data(std::move(res->data));
      r->set_version(res->version);
      r->set_file_size(res->file_size);
      return;
    }
    case R::kWrite:
      if (auto p = path(in.write().path())) {
        answer(vault_->write(*p, in.write().offset(), in.write().data()), out);
      }
      return;
    case R::kPut:
      if (auto p = path(in.put().path())) answer(vault_->put(*p, in.put().data()), out);
      return;
    case R::kCreate:
      if (auto p = path(in.create().path())) answer(vault_->create(*p, in.create().mode()), out);
      return;
    case R::kMkdir:
      if (auto p = path(in.mkdir().path())) answer(vault_->mkdir(*p, in.mkdir().mode()), out);
      return;
    case R::kUnlink:
      if (auto p = path(in.unlink().path())) answer(vault_->unlink(*p), out);
      return;
    case R::kRmdir:
      if (auto p = path(in.rmdir().path())) answer(vault_->rmdir(*p), out);
      return;
    case R::kRename: {
      auto from = path(in.rename().from());
      if (!from) return;
      auto to = path(in.rename().to());
      if (!to) return;
      answer(vault_->rename(*from, *to), out);
      return;
    }
    case R::kTruncate:
      if (auto p = path(in.truncate().path())) {
        answer(vault_->truncate(*p, in.truncate().size()), out);
      }
      return;
    case R::kSetAttributes: {
      const auto& arg = in.set_attributes();
      if (auto p = path(arg.path())) {
        answer(vault_->setAttributes(*p, fromWire(arg)), out);
      }
      return;
    }
    case R::kFsync:
      if (auto p = path(in.fsync().path())) answer(vault_->fsync(*p), out);
      return;
    case R::kReconcile:
      if (auto p = path(in.reconcile().path())) answer(vault_->reconcile(*p), out);
      return;
    case R::kOpen: {
      auto p = path(in.open().path());
      if (!p) return;
      auto res = vault_->open(*p, in.open().mode());
      if (!res) return setError(res.status(), out->mutable_error());
      toWire(*res, out->mutable_opened());
      return;
    }
    case R::kReadHandle: {
      const auto& arg = in.read_handle();
      auto res = vault_->readHandle(arg.handle(), arg.offset(), arg.length());
      if (!res) return setError(res.status(), out->mutable_error());
      auto* r = out->mutable_read();
      r->set_data(std::move(res->data));
      r->set_version(res->version);
      r->set_file_size(res->file_size);
      return;
    }
    case R::kWriteHandle: {
      const auto& arg = in.write_handle();
      answer(vault_->writeHandle(arg.handle(), arg.offset(), arg.data()), out);
      return;
    }
    case R::kStatHandle:
      answer(vault_->statHandle(in.stat_handle().handle()), out);
      return;
    case R::kTruncateHandle:
      answer(vault_->truncateHandle(in.truncate_handle().handle(), in.truncate_handle().size()),
             out);
      return;
    case R::kFsyncHandle:
      answer(vault_->fsyncHandle(in.fsync_handle().handle()), out);
      return;
    case R::kRelease:
      answer(vault_->release(in.release().handle()), out);
      return;
    case R::kProbe: {
      auto res = vault_->probe(in.probe().work_us(), in.probe().reply_bytes());
      if (!res) return setError(res.status(), out->mutable_error());
      auto* r = out->mutable_probe();
      r->set_data(std::move(res->data));
      r->set_iterations_per_us(res->iterations_per_us);
      return;
    }
    case R::kLogin: {
      auto res = auth_->login(in.login().user(), in.login().password());
      if (!res) return setError(res.status(), out->mutable_error());
      out->mutable_session()->set_token(res->token);
      out->mutable_session()->set_expires_at_ms(res->expires_at_ms);
      return;
    }
    case R::kLogout:
      answer(auth_->logout(in.logout().token()), out);
      return;
    case R::kValidate:
      answer(auth_->validate(in.validate().token()), out);
      return;
    case R::kCheck: {
      auto p = path(in.check().path());
      if (!p) return;
      auto access = accessFromWire(in.check().access());
      if (!access) return setError(access.status(), out->mutable_error());
      answer(auth_->check(fromWire(in.check().principal()), *p, *access), out);
      return;
    }
    case R::kAuthorize: {
      auto p = path(in.authorize().path());
      if (!p) return;
      auto access = accessFromWire(in.authorize().access());
      if (!access) return setError(access.status(), out->mutable_error());
      answer(auth_->authorize(in.authorize().token(), *p, *access), out);
      return;
    }
    case R::kPrincipalForUid:
      answer(auth_->principalForUid(in.principal_for_uid().uid()), out);
      return;
    case R::kGrant:
    case R::kRevoke: {
      const auto& arg = c == R::kGrant ? in.grant() : in.revoke();
      auto rule = fromWire(arg.rule());
      if (!rule) return setError(rule.status(), out->mutable_error());
      auto admin = fromWire(arg.admin());
      answer(c == R::kGrant ? auth_->grant(admin, *rule) : auth_->revoke(admin, *rule), out);
      return;
    }
    case R::kRules: {
      auto res = auth_->rules();
      if (!res) return setError(res.status(), out->mutable_error());
      auto* rules = out->mutable_rules();
      for (const auto& r : *res) toWire(r, rules->add_rules());
      return;
    }
    case R::kVaultSubscribe:
    case R::kAuthSubscribe:
    case R::kUnsubscribe:
      return fail(Errc::internal, "feed control reached the dispatcher");
    case R::CALL_NOT_SET:
      return fail(Errc::not_supported, "unknown or empty call");
  }
  fail(Errc::not_supported, "unknown call");
}

}  // namespace seams::ipc::protocodec
