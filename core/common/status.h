// Errors as values at module seams.
//
// Every fallible call that crosses a module boundary (Vault, Auth, IPC stubs, config) returns a
// Status or a Result<T>. The code is errno-like and maps one way to an HTTP status and one way
// to a FUSE errno, so a frontend never has to guess, and a code survives the wire unchanged
// (IPC encodes Errc as its integer value; see errcFromWire()).
//
// Exceptions may be used inside a module but never cross a seam, a thread or a C callback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace seams {

// Wire-stable: values are encoded as integers by the IPC codecs. Append only; never renumber.
enum class Errc : std::uint8_t {
  ok = 0,
  invalid_argument = 1,        // malformed input: bad path, bad JSON, bad range syntax
  not_found = 2,               // no such file, user or rule
  already_exists = 3,          // create/mkdir on an existing name
  not_a_directory = 4,         // a path component is a file
  is_a_directory = 5,          // file operation on a directory
  not_empty = 6,               // rmdir of a non-empty directory
  unauthenticated = 7,         // no token, bad token, expired token, bad password
  permission_denied = 8,       // authenticated, but a rule denies (or no rule allows)
  too_large = 9,               // over a configured size limit
  range_not_satisfiable = 10,  // read range outside the file
  name_too_long = 11,          // a component over 255 bytes or a path over 4096
  unavailable = 12,            // a needed service or peer is down; retry later
  timeout = 13,                // a deadline passed
  no_space = 14,               // the backing store is full
  conflict = 15,       // the operation conflicts with the current state (busy, cross-type rename)
  io_error = 16,       // the backing store failed
  not_supported = 17,  // method or operation not supported
  internal = 18,       // a bug on our side; logged with context
  too_many_open = 19,  // a client holds its limit of open file handles (EMFILE)
  bad_handle = 20,     // a file handle that is not open for this client (EBADF)
  stale = 21,  // an open file that can no longer be reached: gone before it was opened (ESTALE)
};

std::string_view errcName(Errc code) noexcept;
// The HTTP status a frontend answers with for this code (200 for ok).
int httpStatus(Errc code) noexcept;
// The positive errno a FUSE frontend replies with (0 for ok).
int toErrno(Errc code) noexcept;
// Maps an errno from a failed syscall to the closest code.
Errc errcFromErrno(int err) noexcept;
// Decodes a wire integer; unknown values become Errc::internal (never UB).
Errc errcFromWire(std::uint32_t value) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status fromErrno(int err, std::string_view context);

  bool ok() const noexcept { return code_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "not_found: /a/b: no such file" — for logs and error bodies.
  std::string toString() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

inline Status okStatus() {
  return Status();
}

// A value or a non-ok Status. Deliberately small: std::expected arrives only in C++23.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(Errc::internal, "Result built from an ok Status");
  }
  Result(Errc code, std::string message) : Result(Status(code, std::move(message))) {}

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  explicit operator bool() const noexcept { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; an ok Status when ok().
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  Errc code() const noexcept { return ok() ? Errc::ok : std::get<Status>(v_).code(); }

 private:
  std::variant<T, Status> v_;
};

inline const Status& statusOf(const Status& s) {
  return s;
}
template <typename T>
Status statusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace seams

// Propagates a non-ok Status or Result (as its Status) from the enclosing function.
#define SEAMS_RETURN_IF_ERROR(expr)                                   \
  do {                                                                \
    const auto& seams_result_ = (expr);                               \
    if (!seams_result_.ok()) return ::seams::statusOf(seams_result_); \
  } while (0)
