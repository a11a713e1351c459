#include "core/common/vault_path.h"

#include <algorithm>
#include <cstdio>

namespace seams {
namespace {

// The offset of the first byte that breaks UTF-8 (RFC 3629), or npos when `s` is valid.
// Hand-written: a dozen lines on a path we take for every request, where a library call would
// mean a new dependency in the lowest layer.
std::size_t firstInvalidUtf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
    } else {
      return i;  // a continuation byte first, 0xc0/0xc1 (overlong) or 0xf5..0xff
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

Status checkComponent(std::string_view c) {
  if (c == "..") return Status(Errc::invalid_argument, "path component '..' is not allowed");
  if (c.size() > VaultPath::kMaxComponent) {
    return Status(Errc::name_too_long, "path component longer than 255 bytes");
  }
  if (c.find('\0') != std::string_view::npos) {
    return Status(Errc::invalid_argument, "path contains a NUL byte");
  }
  if (c.find('/') != std::string_view::npos) {
    return Status(Errc::invalid_argument, "name contains '/'");
  }
  if (c.empty() || c == ".") return Status(Errc::invalid_argument, "empty name");
  if (std::size_t bad = firstInvalidUtf8(c); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(c[bad]));
    return Status(Errc::invalid_argument, "name is not valid UTF-8 (byte " + std::string(hex) +
                                              " at offset " + std::to_string(bad) +
                                              "); the vault accepts only UTF-8 names");
  }
  return Status();
}

}  // namespace

Result<VaultPath> VaultPath::parse(std::string_view raw) {
  if (raw.size() > kMaxLength)
    return Status(Errc::name_too_long, "vault path longer than 65535 bytes");
  if (raw.find('\0') != std::string_view::npos) {
    return Status(Errc::invalid_argument, "path contains a NUL byte");
  }
  std::string out;
  out.reserve(raw.size() + 1);
  bool first = true;
  std::size_t i = 0;
  while (i <= raw.size()) {
    std::size_t j = raw.find('/', i);
    if (j == std::string_view::npos) j = raw.size();
    std::string_view comp = raw.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    if (Status s = checkComponent(comp); !s.ok()) return s;
    if (first && comp == kReservedName) {
      return Status(Errc::invalid_argument, "'.seams' is reserved for the vault's own state");
    }
    first = false;
    out += '/';
    out += comp;
  }
  if (out.empty()) out = "/";
  if (out.size() > kMaxLength)
    return Status(Errc::name_too_long, "vault path longer than 65535 bytes");
  return VaultPath(std::move(out));
}

std::string_view VaultPath::relative() const noexcept {
  if (isRoot()) return ".";
  return std::string_view(path_).substr(1);
}

std::string_view VaultPath::name() const noexcept {
  if (isRoot()) return {};
  return std::string_view(path_).substr(path_.rfind('/') + 1);
}

VaultPath VaultPath::parent() const {
  if (isRoot()) return VaultPath();
  std::size_t slash = path_.rfind('/');
  if (slash == 0) return VaultPath();
  return VaultPath(path_.substr(0, slash));
}

Result<VaultPath> VaultPath::child(std::string_view name) const {
  if (Status s = checkComponent(name); !s.ok()) return s;
  if (isRoot() && name == kReservedName) {
    return Status(Errc::invalid_argument, "'.seams' is reserved for the vault's own state");
  }
  std::string p = isRoot() ? std::string() : path_;
  p += '/';
  p += name;
  if (p.size() > kMaxLength)
    return Status(Errc::name_too_long, "vault path longer than 65535 bytes");
  return VaultPath(std::move(p));
}

bool VaultPath::isValidName(std::string_view name) noexcept {
  return name.size() <= kMaxComponent && name != ".." && name != "." && !name.empty() &&
         name.find('\0') == std::string_view::npos && name.find('/') == std::string_view::npos &&
         firstInvalidUtf8(name) == std::string_view::npos;
}

bool VaultPath::isWithin(const VaultPath& prefix) const noexcept {
  if (prefix.isRoot()) return true;
  if (path_.size() < prefix.path_.size()) return false;
  if (path_.compare(0, prefix.path_.size(), prefix.path_) != 0) return false;
  return path_.size() == prefix.path_.size() || path_[prefix.path_.size()] == '/';
}

std::size_t VaultPath::depth() const noexcept {
  if (isRoot()) return 0;
  return static_cast<std::size_t>(std::count(path_.begin(), path_.end(), '/'));
}

}  // namespace seams
