#include "core/common/vault_path.h"

#include <algorithm>

namespace seams {
namespace {

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
  return Status();
}

}  // namespace

Result<VaultPath> VaultPath::parse(std::string_view raw) {
  if (raw.size() > kMaxLength) return Status(Errc::name_too_long, "path longer than 4096 bytes");
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
  if (out.size() > kMaxLength) return Status(Errc::name_too_long, "path longer than 4096 bytes");
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
  if (p.size() > kMaxLength) return Status(Errc::name_too_long, "path longer than 4096 bytes");
  return VaultPath(std::move(p));
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
