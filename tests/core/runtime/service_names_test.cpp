// The services' and daemons' names are what operators type (`seamctl restart fsd`, `seamctl fault
// http crash`) and what scripts grep the logs for: renaming one is a visible change, so the
// spellings are pinned here, not only shared through the header.
#include "core/runtime/service_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace seams {
namespace {

TEST(ServiceNames, TheInProcessServicesKeepTheNamesSeamctlShows) {
  EXPECT_STREQ(kStorageService, "storage");
  EXPECT_STREQ(kAuthService, "auth");
  EXPECT_STREQ(kSyncService, "sync");
  EXPECT_STREQ(kHttpService, "http");
  EXPECT_STREQ(kFuseService, "fuse");
  EXPECT_STREQ(kControlService, "control");
  EXPECT_STREQ(kVaultIpcService, "vault-ipc");
  EXPECT_STREQ(kAuthIpcService, "auth-ipc");
  EXPECT_STREQ(kUpstreamFsdService, "upstream-fsd");
  EXPECT_STREQ(kUpstreamAuthdService, "upstream-authd");
}

TEST(ServiceNames, TheSplitDaemonsKeepTheirNamesAndSoTheirBinaries) {
  EXPECT_STREQ(kFsdDaemon, "fsd");
  EXPECT_STREQ(kAuthdDaemon, "authd");
  EXPECT_STREQ(kSyncdDaemon, "syncd");
  EXPECT_STREQ(kHttpdDaemon, "httpd");
  EXPECT_STREQ(kFusedDaemon, "fused");
}

TEST(ServiceNames, NoTwoNamesAProcessOrTheLauncherListsAreTheSame) {
  // seamd runs every in-process service under one manager, and seam-split lists its daemons
  // beside its own control service: a clash would make ServiceManager::add refuse the second.
  const std::set<std::string> in_process = {
      kStorageService,     kAuthService,         kSyncService,     kHttpService,
      kFuseService,        kControlService,      kVaultIpcService, kAuthIpcService,
      kUpstreamFsdService, kUpstreamAuthdService};
  EXPECT_EQ(in_process.size(), 10u);
  const std::set<std::string> launcher = {kFsdDaemon,   kAuthdDaemon, kSyncdDaemon,
                                          kHttpdDaemon, kFusedDaemon, kControlService};
  EXPECT_EQ(launcher.size(), 6u);
}

TEST(ServiceNames, TheCacheRolesKeepTheLabelsTheMetricsCarry) {
  EXPECT_STREQ(kVaultCacheRole, "vault");
  EXPECT_STREQ(kFrontendCacheRole, "frontend");
}

}  // namespace
}  // namespace seams
