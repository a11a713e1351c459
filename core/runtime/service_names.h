// The names a deployment's services and daemons go by, spelled once. Operators type them
// (`seamctl status`, `seamctl restart NAME`, `seamctl fault NAME KIND`), the log lines start with
// them, and the composition roots wire dependencies by them: a service's name() and every list
// that depends on it must agree, so both take the constant from here.
//
// Plain character arrays, so each one converts to std::string and std::string_view where needed
// (a Service's name(), a dependency list, a Deps role).
#pragma once

namespace seams {

// In-process services: seamd runs the first six; each split daemon runs a few of them.
inline constexpr char kStorageService[] = "storage";  // VaultService
inline constexpr char kAuthService[] = "auth";        // AuthService
inline constexpr char kSyncService[] = "sync";        // SyncService
inline constexpr char kHttpService[] = "http";        // HttpService
inline constexpr char kFuseService[] = "fuse";        // FuseService
inline constexpr char kControlService[] = "control";  // ControlService, in every process

// The split daemons' own services: serving an owner over its socket, and the link to it.
inline constexpr char kVaultIpcService[] = "vault-ipc";
inline constexpr char kAuthIpcService[] = "auth-ipc";
inline constexpr char kUpstreamFsdService[] = "upstream-fsd";
inline constexpr char kUpstreamAuthdService[] = "upstream-authd";

// The split deployment's daemons as seam-split runs and lists them; the binary is "seam-" + name.
inline constexpr char kFsdDaemon[] = "fsd";
inline constexpr char kAuthdDaemon[] = "authd";
inline constexpr char kSyncdDaemon[] = "syncd";
inline constexpr char kHttpdDaemon[] = "httpd";
inline constexpr char kFusedDaemon[] = "fused";

// The roles under which a process's FS caches are published in Deps (as `const FsCache`), and
// so the role column of `seamctl caches` and the `role` label of the cache metrics.
inline constexpr char kVaultCacheRole[] = "vault";        // VaultService's authoritative cache
inline constexpr char kFrontendCacheRole[] = "frontend";  // a split frontend's coherence cache

}  // namespace seams
