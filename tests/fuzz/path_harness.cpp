// fuzzVaultPath: the path as the HTTP frontend decodes it (percentDecode, then VaultPath::parse),
// the raw bytes as FUSE and IPC peers hand them over (parse, child), and the invariant of
// core/common/vault_path.h on whatever is accepted.
#include <string>

#include "core/common/vault_path.h"
#include "core/http/http_util.h"
#include "tests/fuzz/harness.h"

namespace seams::fuzz {
namespace {

Status broken(const std::string& what, std::string_view input) {
  std::string shown(input.substr(0, 200));
  return Status(Errc::internal, what + " (input '" + shown + "')");
}

// The invariant every VaultPath holds: absolute, no empty, "." or ".." component, no NUL, no
// component over 255 bytes, at most kMaxLength bytes, the reserved name never first. Hence
// relative() never leaves the root it is opened beneath.
Status checkInvariant(const VaultPath& p, std::string_view input) {
  const std::string& s = p.str();
  if (s.empty() || s.front() != '/') return broken("not absolute: " + s, input);
  if (s.size() > VaultPath::kMaxLength) return broken("longer than kMaxLength bytes", input);
  if (s.find('\0') != std::string::npos) return broken("contains NUL", input);
  if (s.size() > 1 && s.back() == '/') return broken("trailing slash: " + s, input);
  std::size_t components = 0;
  for (std::size_t i = 1; i <= s.size() && s.size() > 1;) {
    std::size_t j = s.find('/', i);
    if (j == std::string::npos) j = s.size();
    std::string_view c(s.data() + i, j - i);
    if (c.empty() || c == "." || c == "..") return broken("bad component in " + s, input);
    if (c.size() > VaultPath::kMaxComponent) return broken("component over 255 bytes", input);
    if (components == 0 && c == VaultPath::kReservedName) return broken("reserved name", input);
    ++components;
    i = j + 1;
  }
  if (components != p.depth()) return broken("depth() disagrees with " + s, input);
  std::string_view rel = p.relative();
  if (rel.empty() || rel.front() == '/') return broken("relative() is absolute", input);
  if (p.isRoot() != (rel == ".")) return broken("relative() of the root", input);
  // Parsing is idempotent, and a path's parent and name rebuild it.
  auto again = VaultPath::parse(s);
  if (!again.ok() || !(*again == p)) return broken("parse(str()) differs from " + s, input);
  if (!p.isRoot()) {
    auto rebuilt = p.parent().child(p.name());
    if (!rebuilt.ok() || !(*rebuilt == p)) return broken("parent().child(name()) != " + s, input);
    if (!p.isWithin(p.parent())) return broken("not within its parent: " + s, input);
    if (p.parent().isWithin(p)) return broken("parent within the child: " + s, input);
  }
  return okStatus();
}

Status checkRefusal(const Status& s, std::string_view input) {
  if (s.code() != Errc::invalid_argument && s.code() != Errc::name_too_long) {
    return broken("refused with " + std::string(errcName(s.code())), input);
  }
  if (s.message().empty()) return broken("refused without a message", input);
  return okStatus();
}

}  // namespace

Status fuzzVaultPath(std::string_view input) {
  // The input is "<path>" or "<path>\n<name>": the name goes to child() of the parsed path.
  std::string_view path_part = input;
  std::string_view name_part;
  bool has_name = false;
  if (auto nl = input.find('\n'); nl != std::string_view::npos) {
    path_part = input.substr(0, nl);
    name_part = input.substr(nl + 1);
    has_name = true;
  }

  // As the HTTP frontend sees it.
  Result<std::string> decoded = http::percentDecode(path_part);
  if (decoded.ok()) {
    if (decoded->size() > path_part.size()) return broken("decoding grew the path", input);
    Result<VaultPath> p = VaultPath::parse(*decoded);
    if (p.ok()) {
      SEAMS_RETURN_IF_ERROR(checkInvariant(*p, input));
    } else {
      SEAMS_RETURN_IF_ERROR(checkRefusal(p.status(), input));
    }
  } else if (decoded.code() != Errc::invalid_argument) {
    return broken("percentDecode refused with another code", input);
  }

  // As a peer hands it over: the bytes as they are.
  Result<VaultPath> raw = VaultPath::parse(path_part);
  if (!raw.ok()) return checkRefusal(raw.status(), input);
  SEAMS_RETURN_IF_ERROR(checkInvariant(*raw, input));
  if (!has_name) return okStatus();
  Result<VaultPath> child = raw->child(name_part);
  if (!child.ok()) return checkRefusal(child.status(), input);
  SEAMS_RETURN_IF_ERROR(checkInvariant(*child, input));
  if (!(child->parent() == *raw) || child->name() != name_part) {
    return broken("child() is not one component beneath its parent", input);
  }
  return okStatus();
}

}  // namespace seams::fuzz
