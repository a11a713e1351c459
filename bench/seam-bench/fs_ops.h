// File-system operations as plain syscalls under a root (a FUSE mount, the backing directory
// itself, or a peer FUSE filesystem), so every filesystem is driven by the same code.
//
// Threading: each returned Op belongs to one worker thread.
#pragma once

#include <string>

#include "bench/seam-bench/load.h"

namespace seams::bench {

// op: "stat" | "read4k" | "read1m" | "readdir" | "create" | "mix"; worker picks its own files.
WorkerFactory fsWorker(const std::string& root, const std::string& op, int hot_files,
                       std::uint64_t seed);
// The version xattr (user.seams.version) of a file; 0 on failure.
std::uint64_t fuseVersion(const std::string& path);
// Reads a whole (small) file; false on failure.
bool readSmall(const std::string& path, std::string& out);
// open(O_TRUNC) + write + close; false on failure.
bool writeSmall(const std::string& path, const std::string& data);

}  // namespace seams::bench
