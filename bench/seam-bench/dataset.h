// The seeded data set written into each deployment's fresh vault before it starts.
//
// Layout under the vault root (every name deterministic from the options):
//   bench/hot/fNN      `hot_files` files of `hot_bytes` (4 KiB): the cached working set (fits the
//                      default cache budget)
//   bench/cold/fNNNN   `cold_files` files of `cold_bytes` (4 KiB): cycled through in order, so an
//                      LRU cache smaller than them misses on every read (the "uncached GET")
//   bench/big/fN       4 files of 1 MiB
//   bench/data/dNN/fNNNNN  `files` files, sizes drawn from `size_dist`, 100 per directory: what
//                      the `dataset` operation of the http and fuse scenarios reads
//   bench/shared/kNN   16 small files: the drift scenario's shared keys
//   bench/wr/          empty: PUT and create targets
//   bench/rev/         empty: the revocation probe's directory (PUT creates no parents)
//
// Threading: plain functions.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace seams::bench {

struct SizeClass {
  std::uint64_t bytes = 0;
  double weight = 0;
};
// An integer with an optional K/M/G suffix (x1024, x1024^2, x1024^3): "512K" is 524288;
// nullopt when it is not one or overflows.
std::optional<std::int64_t> parseScaledInteger(std::string text);
// "4K:70,64K:25,1M:5" (suffix K/M/G = KiB/MiB/GiB, weights relative).
Result<std::vector<SizeClass>> parseSizeDist(const std::string& text);

struct DatasetOptions {
  std::uint64_t seed = 1;
  int files = 1000;
  std::vector<SizeClass> size_dist;
  int hot_files = 32;
  int cold_files = 512;
  std::uint64_t hot_bytes = 4096;
  std::uint64_t cold_bytes = 4096;
};

struct DatasetInfo {
  std::uint64_t bytes = 0;              // everything written
  std::uint64_t data_bytes = 0;         // bench/data only
  std::vector<std::string> data_paths;  // vault paths of bench/data files, in creation order
  std::vector<std::uint64_t> data_sizes;
  nlohmann::json toJson() const;
};

// What the `dataset` operation measured, per size class of the data set: latency (each read
// timed by the worker itself, beside the load generator's overall figure) and bytes.
// Threading: record() from any thread; toJson() after the load's threads are joined.
class SizeClassTally {
 public:
  explicit SizeClassTally(const DatasetInfo& data);  // one class per distinct file size
  ~SizeClassTally();
  SizeClassTally(const SizeClassTally&) = delete;
  SizeClassTally& operator=(const SizeClassTally&) = delete;
  void record(std::uint64_t size, std::uint64_t latency_ns, bool ok);
  // {"4K": {"bytes_per_file", "files", "ok", "errors", "latency": SUMMARY (us),
  //  "throughput" (req/s), "bytes_per_s" (MiB/s: this class's share over `seconds`)}, ...}
  nlohmann::json toJson(double seconds) const;

 private:
  struct Class;
  std::vector<std::unique_ptr<Class>> classes_;  // ascending size
};
// "4K", "64K", "1M", "1536" (bytes that are no whole KiB): a size class's name.
std::string sizeLabel(std::uint64_t bytes);

// Writes the data set under `vault_root` (which must exist).
Result<DatasetInfo> writeDataset(const std::string& vault_root, const DatasetOptions& options);

std::string hotPath(int i);
std::string coldPath(int i);
std::string bigPath(int i);
std::string sharedPath(int i);
inline constexpr int kBigFiles = 4;
inline constexpr int kSharedKeys = 16;

}  // namespace seams::bench
