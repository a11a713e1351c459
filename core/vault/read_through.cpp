#include "core/vault/read_through.h"

#include <algorithm>
#include <memory>

namespace seams {

Result<ReadResult> rangeOfWhole(std::string_view data, std::uint64_t version, std::uint64_t offset,
                                std::uint64_t length, const VaultPath& path) {
  if (offset > data.size()) {
    return Status(Errc::range_not_satisfiable, "read past the end of " + path.str());
  }
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, data.size() - offset));
  ReadResult r;
  r.data.assign(data.data() + offset, n);
  r.version = version;
  r.file_size = data.size();
  return r;
}

std::optional<Result<ReadResult>> readCached(FsCache& cache, const VaultPath& path,
                                             std::uint64_t offset, std::uint64_t length) {
  std::shared_ptr<const CachedContent> hit = cache.getContent(path);
  if (!hit) return std::nullopt;
  return rangeOfWhole(hit->data, hit->version, offset, length, path);
}

std::optional<Result<ReadResult>> readCachedFile(FsCache& cache, const VaultPath& name,
                                                 std::uint64_t inode, std::uint64_t offset,
                                                 std::uint64_t length) {
  std::optional<FileAttr> attr = cache.getAttr(name);
  if (!attr || attr->inode != inode) return std::nullopt;
  std::shared_ptr<const CachedContent> hit = cache.getContent(name);
  if (!hit || hit->version != attr->version) return std::nullopt;
  return rangeOfWhole(hit->data, hit->version, offset, length, name);
}

}  // namespace seams
