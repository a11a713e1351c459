#include "ipc/transport/wire.h"

namespace seams::ipc {

Result<Access> accessFromWire(std::uint32_t bits) {
  switch (bits) {
    case 1:
      return Access::read;
    case 2:
      return Access::write;
    case 4:
      return Access::list;
    case 8:
      return Access::admin;
    default:
      return Status(Errc::invalid_argument, "access must be one of read, write, list, admin");
  }
}

void deliverVaultResync(const ChangeListener& listener) {
  ChangeEvent ev;  // path and old_path default to "/"
  ev.kind = ChangeEvent::Kind::modified;
  ev.version = 0;
  listener(ev);
}

void deliverAuthResync(const AuthListener& listener) {
  AuthEvent rules;
  rules.kind = AuthEvent::Kind::rules_changed;
  listener(rules);
  AuthEvent sessions;
  sessions.kind = AuthEvent::Kind::session_ended;
  listener(sessions);
}

}  // namespace seams::ipc
