// The read-through steps a Vault over an FsCache takes, shared by LocalVault (over Storage) and
// CachingVault (over the owner's Vault): both keep a file's content whole in the cache, answer a
// range from it, and answer an open file from it only when the cache holds that very file.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/cache/fs_cache.h"
#include "core/common/status.h"
#include "core/common/vault_path.h"
#include "core/vault/vault.h"

namespace seams {

// The range [offset, offset + length) of a file whose whole content is `data`, at `version`;
// range_not_satisfiable past its end (`path` names it in the message).
Result<ReadResult> rangeOfWhole(std::string_view data, std::uint64_t version, std::uint64_t offset,
                                std::uint64_t length, const VaultPath& path);

// The range from `path`'s cached content, when the cache holds it.
std::optional<Result<ReadResult>> readCached(FsCache& cache, const VaultPath& path,
                                             std::uint64_t offset, std::uint64_t length);

// The range from the cache when it holds, under `name`, the file with `inode`: attributes of that
// inode and content of their version (so the bytes are that file's). An open file's hot path.
std::optional<Result<ReadResult>> readCachedFile(FsCache& cache, const VaultPath& name,
                                                 std::uint64_t inode, std::uint64_t offset,
                                                 std::uint64_t length);

}  // namespace seams
