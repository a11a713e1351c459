#include "core/common/status.h"

#include <cerrno>
#include <cstring>

namespace seams {

std::string_view errcName(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::already_exists:
      return "already_exists";
    case Errc::not_a_directory:
      return "not_a_directory";
    case Errc::is_a_directory:
      return "is_a_directory";
    case Errc::not_empty:
      return "not_empty";
    case Errc::unauthenticated:
      return "unauthenticated";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::too_large:
      return "too_large";
    case Errc::range_not_satisfiable:
      return "range_not_satisfiable";
    case Errc::name_too_long:
      return "name_too_long";
    case Errc::unavailable:
      return "unavailable";
    case Errc::timeout:
      return "timeout";
    case Errc::no_space:
      return "no_space";
    case Errc::conflict:
      return "conflict";
    case Errc::io_error:
      return "io_error";
    case Errc::not_supported:
      return "not_supported";
    case Errc::internal:
      return "internal";
    case Errc::too_many_open:
      return "too_many_open";
    case Errc::stale:
      return "stale";
    case Errc::bad_handle:
      return "bad_handle";
  }
  return "internal";
}

int httpStatus(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return 200;
    case Errc::invalid_argument:
      return 400;
    case Errc::name_too_long:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::already_exists:
      return 409;
    case Errc::not_a_directory:
      return 409;
    case Errc::is_a_directory:
      return 409;
    case Errc::not_empty:
      return 409;
    case Errc::conflict:
      return 409;
    case Errc::unauthenticated:
      return 401;
    case Errc::permission_denied:
      return 403;
    case Errc::too_large:
      return 413;
    case Errc::range_not_satisfiable:
      return 416;
    case Errc::not_supported:
      return 405;
    case Errc::unavailable:
      return 503;
    case Errc::timeout:
      return 503;
    case Errc::no_space:
      return 507;
    case Errc::io_error:
      return 500;
    case Errc::internal:
      return 500;
    case Errc::too_many_open:
      return 429;
    case Errc::bad_handle:
      return 400;
    case Errc::stale:
      return 410;
  }
  return 500;
}

int toErrno(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return 0;
    case Errc::invalid_argument:
      return EINVAL;
    case Errc::not_found:
      return ENOENT;
    case Errc::already_exists:
      return EEXIST;
    case Errc::not_a_directory:
      return ENOTDIR;
    case Errc::is_a_directory:
      return EISDIR;
    case Errc::not_empty:
      return ENOTEMPTY;
    case Errc::unauthenticated:
      return EACCES;
    case Errc::permission_denied:
      return EACCES;
    case Errc::too_large:
      return EFBIG;
    case Errc::range_not_satisfiable:
      return EINVAL;
    case Errc::name_too_long:
      return ENAMETOOLONG;
    case Errc::unavailable:
      return EIO;
    case Errc::timeout:
      return ETIMEDOUT;
    case Errc::no_space:
      return ENOSPC;
    case Errc::conflict:
      return EBUSY;
    case Errc::io_error:
      return EIO;
    case Errc::not_supported:
      return ENOTSUP;
    case Errc::internal:
      return EIO;
    case Errc::too_many_open:
      return EMFILE;
    case Errc::bad_handle:
      return EBADF;
    case Errc::stale:
      return ESTALE;
  }
  return EIO;
}

Errc errcFromErrno(int err) noexcept {
  switch (err) {
    case 0:
      return Errc::ok;
    case ENOENT:
      return Errc::not_found;
    case EEXIST:
      return Errc::already_exists;
    case ENOTDIR:
      return Errc::not_a_directory;
    case EISDIR:
      return Errc::is_a_directory;
    case ENOTEMPTY:
      return Errc::not_empty;
    case EACCES:
    case EPERM:
      return Errc::permission_denied;
    case EFBIG:
      return Errc::too_large;
    case ENAMETOOLONG:
      return Errc::name_too_long;
    case EINVAL:
    case ELOOP:  // a symlink where none may be followed: bad input, not an I/O failure
    case EXDEV:
      return Errc::invalid_argument;  // RESOLVE_BENEATH escape attempt
    case ENOSPC:
    case EDQUOT:
      return Errc::no_space;
    case EBUSY:
      return Errc::conflict;
    case ETIMEDOUT:
      return Errc::timeout;
    case ENOTSUP:
      return Errc::not_supported;
    case EMFILE:
    case ENFILE:
      return Errc::too_many_open;
    case EBADF:
      return Errc::bad_handle;
    case ESTALE:
      return Errc::stale;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
      return Errc::unavailable;
    default:
      return Errc::io_error;
  }
}

Errc errcFromWire(std::uint32_t value) noexcept {
  if (value > static_cast<std::uint32_t>(Errc::stale)) return Errc::internal;
  return static_cast<Errc>(value);
}

Status Status::fromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);  // NOLINT(concurrency-mt-unsafe): glibc strerror is thread-safe
  return Status(errcFromErrno(err), std::move(msg));
}

std::string Status::toString() const {
  std::string s(errcName(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace seams
