// File-system operations as plain syscalls under a root (a FUSE mount, the backing directory
// itself, or a peer FUSE filesystem), so every filesystem is driven by the same code.
//
// Threading: each returned Op belongs to one worker thread.
#pragma once

#include <memory>
#include <string>

#include "bench/seam-bench/dataset.h"
#include "bench/seam-bench/load.h"
#include "bench/seam-bench/workload.h"  // Weights

namespace seams::bench {

struct FsWorkerOptions {
  int hot_files = 32;
  std::uint64_t seed = 1;
  // The `mix` operation's (operation, weight) pairs.
  Weights mix = {{"stat", 60}, {"read4k", 25}, {"readdir", 5}, {"create", 10}};
  const DatasetInfo* data = nullptr;      // bench/data, read by `dataset` (which fails without)
  std::shared_ptr<SizeClassTally> tally;  // when set, `dataset` records each read in it
};
// op: "stat" | "read4k" (a whole hot file) | "read1m" | "readdir" | "create" (4 KiB) | "mix" |
// "dataset" (a whole file of bench/data, drawn uniformly, so sizes follow the size
// distribution); each worker picks its own files.
WorkerFactory fsWorker(const std::string& root, const std::string& op, FsWorkerOptions options);
// The version xattr (user.seams.version) of a file; 0 on failure.
std::uint64_t fuseVersion(const std::string& path);
// Reads a whole (small) file; false on failure.
bool readSmall(const std::string& path, std::string& out);
// open(O_TRUNC) + write + close; false on failure.
bool writeSmall(const std::string& path, const std::string& data);

}  // namespace seams::bench
