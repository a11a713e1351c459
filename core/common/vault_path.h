// VaultPath: a path inside the vault that has already been validated.
//
// Every Vault and Auth call takes a VaultPath, never a raw string, so confinement is decided in
// exactly one place. A VaultPath is always absolute within the vault ("/" or "/a/b"), has no
// empty, "." or ".." components, no NUL byte, no component over 255 bytes, is at most kMaxLength
// bytes long, is valid UTF-8, and never names the reserved ".seams" directory where storage keeps
// its own state.
//
// Names are UTF-8 or nothing. Every entry point (HTTP after percent-decoding, FUSE names from
// the kernel, paths arriving over IPC, config rule prefixes) builds its paths here, so one rule
// holds everywhere: a name that is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF) is refused with invalid_argument, and so is never stored. The other
// choice, escaping such bytes reversibly, would need the same escape in every frontend and a
// second spelling of every name; refusing costs nothing for names people type, and the JSON
// the HTTP API answers can always carry every name it lists. A file created with such a name
// behind the vault's back is left out of listings (Storage::list), since no entry point could
// name it.
//
// Parsing rejects ".." instead of resolving it: a client has no reason to send one, and resolving
// invites escapes. Percent-decoding is the HTTP frontend's job, done once before parse(); a
// decoded "%2e%2e" is therefore rejected here like a literal "..".
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace seams {

class VaultPath {
 public:
  static constexpr std::size_t kMaxComponent = 255;
  // Not PATH_MAX: the kernel limits each syscall's path argument (a FUSE request carries one
  // name), not the whole path from the vault root, which may be far deeper (a 4 KiB relative
  // path from a deep working directory). This bound only caps the memory one path may take.
  static constexpr std::size_t kMaxLength = 65535;
  static constexpr std::string_view kReservedName = ".seams";

  // Validates and normalises: repeated slashes and "." components collapse; a leading "/" is
  // optional. Errors: invalid_argument (NUL, "..", reserved name, not UTF-8), name_too_long.
  static Result<VaultPath> parse(std::string_view raw);
  static VaultPath root() { return VaultPath(); }

  VaultPath() : path_("/") {}

  // "/" or "/a/b".
  const std::string& str() const noexcept { return path_; }
  // "." for the root, "a/b" otherwise: the form to hand to openat() on the root fd.
  std::string_view relative() const noexcept;
  bool isRoot() const noexcept { return path_.size() == 1; }
  // The last component ("" for the root).
  std::string_view name() const noexcept;
  // The containing directory (the root's parent is the root).
  VaultPath parent() const;
  // This path with one more component; the name is validated like a component of parse().
  Result<VaultPath> child(std::string_view name) const;
  // True when `name` may be one component of a path (what child() accepts, minus the
  // reserved name, which only matters at the root).
  static bool isValidName(std::string_view name) noexcept;
  // True when this path equals prefix or lies beneath it, compared by whole components.
  bool isWithin(const VaultPath& prefix) const noexcept;
  // Number of components (0 for the root).
  std::size_t depth() const noexcept;

  friend bool operator==(const VaultPath& a, const VaultPath& b) { return a.path_ == b.path_; }
  friend auto operator<=>(const VaultPath& a, const VaultPath& b) { return a.path_ <=> b.path_; }

 private:
  explicit VaultPath(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace seams

template <>
struct std::hash<seams::VaultPath> {
  std::size_t operator()(const seams::VaultPath& p) const noexcept {
    return std::hash<std::string>{}(p.str());
  }
};
