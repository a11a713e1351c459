#include "core/services/vault_service.h"

#include <memory>

#include "core/cache/fs_cache.h"
#include "core/storage/private_root.h"
#include "core/storage/storage.h"
#include "core/vault/local_vault.h"

namespace seams {
namespace {

// The three objects live and die together; Deps hands out aliases into this bundle, so a reader
// holding the Vault keeps its Storage and cache alive too.
struct VaultBundle {
  std::unique_ptr<Storage> storage;
  std::unique_ptr<FsCache> cache;
  std::unique_ptr<LocalVault> vault;
};

}  // namespace

Status VaultService::run(RunContext& ctx) {
  if (!allow_shared_vault_root_) SEAMS_RETURN_IF_ERROR(checkPrivateRoot(vault_root_));
  Result<std::unique_ptr<Storage>> storage = Storage::open(vault_root_);
  if (!storage.ok()) return storage.status();
  auto bundle = std::make_shared<VaultBundle>();
  bundle->storage = std::move(*storage);
  FsCache::Options options;
  options.budget_bytes = cache_.budget_bytes;
  options.max_entry_bytes = cache_.max_entry_bytes;
  options.shards = cache_.shards;
  bundle->cache = std::make_unique<FsCache>(options, ctx.clock());
  bundle->vault = std::make_unique<LocalVault>(*bundle->storage, *bundle->cache,
                                               LocalVault::kDefaultMaxOpenHandles, probe_);

  deps_.publish<const FsCache>(std::shared_ptr<const FsCache>(bundle, bundle->cache.get()),
                               kVaultCacheRole);
  deps_.publish<Vault>(std::shared_ptr<Vault>(bundle, bundle->vault.get()));
  ctx.ready();
  ctx.idleUntilStopped();
  deps_.withdraw<Vault>();
  deps_.withdraw<const FsCache>(kVaultCacheRole);
  return okStatus();
}

}  // namespace seams
