// What a file looks like to the vault's users: its attributes, a change to them, a directory
// entry and the bytes of a read, each with the version it belongs to (versions:
// core/vault/vault.h).
//
// Plain values shared by every floor that handles files: Storage produces them, the FS cache
// keeps them, the Vault hands them out, the IPC codecs carry them, the frontends present them.
#pragma once

#include <cstdint>
#include <string>

namespace seams {

enum class FileType : std::uint8_t { file = 0, directory = 1 };

struct FileAttr {
  FileType type = FileType::file;
  std::uint64_t size = 0;
  std::uint64_t version = 0;
  std::int64_t mtime_ns = 0;  // wall clock, ns since the epoch
  std::uint32_t mode = 0;     // permission bits only (07777): presented, see setAttributes()
  std::uint64_t inode = 0;    // the backing inode, stable while the file exists
  std::int64_t atime_ns = 0;  // wall clock, ns since the epoch
  std::int64_t ctime_ns = 0;  // last change of content or attributes
  // Directories: 2 + the number of subdirectories; files: 1. 0 from a peer that predates the
  // field (a frontend then shows 2 or 1).
  std::uint32_t nlink = 0;
  // The presented owner, once one was stored by setAttributes(); until then (owner_set false)
  // the frontend shows whatever owner it shows for everything (FUSE: the daemon's uid/gid).
  bool owner_set = false;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;

  friend bool operator==(const FileAttr&, const FileAttr&) = default;
};

// What setAttributes() changes: each bit in `what` names one field to apply; the rest is ignored.
struct AttrChange {
  enum : std::uint32_t {
    kMode = 1u << 0,
    kUid = 1u << 1,
    kGid = 1u << 2,
    kAtime = 1u << 3,     // atime_ns
    kMtime = 1u << 4,     // mtime_ns
    kAtimeNow = 1u << 5,  // the owner's clock, now (wins over kAtime)
    kMtimeNow = 1u << 6,  // the owner's clock, now (wins over kMtime)
    kAll = (1u << 7) - 1,
  };
  std::uint32_t what = 0;
  std::uint32_t mode = 0;  // permission bits, at most 07777
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t atime_ns = 0;
  std::int64_t mtime_ns = 0;

  friend bool operator==(const AttrChange&, const AttrChange&) = default;
};

struct DirEntry {
  std::string name;
  FileAttr attr;

  friend bool operator==(const DirEntry&, const DirEntry&) = default;
};

struct ReadResult {
  std::string data;           // at most the requested length; shorter at end of file
  std::uint64_t version = 0;  // the version the bytes belong to
  std::uint64_t file_size = 0;

  friend bool operator==(const ReadResult&, const ReadResult&) = default;
};

}  // namespace seams
