# The Vault interface (core/vault/vault.h) on the wire. Evolution rules: ipc/SCHEMA_EVOLUTION.md.
#
# Paths travel as Text and are parsed again by the server with VaultPath::parse(): the server
# never trusts a peer's path (a bad one is invalid_argument). Every results struct carries
# `error` (null means ok) beside the value fields, which are unset on error.
@0xc57125febbd8fcf2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("seams::wire");

using Common = import "common.capnp";
using Error = Common.Error;
using Handle = Common.Handle;

enum FileType {
  file @0;
  directory @1;
}

struct FileAttr {
  type @0 :FileType;
  size @1 :UInt64;
  version @2 :UInt64;
  mtimeNs @3 :Int64;
  mode @4 :UInt32;
  inode @5 :UInt64;
  atimeNs @6 :Int64;
  ctimeNs @7 :Int64;
  nlink @8 :UInt32;     # 0 from an older owner: the frontend shows 2 or 1
  ownerSet @9 :Bool;    # false: no owner stored, the frontend shows its own
  uid @10 :UInt32;
  gid @11 :UInt32;
}

# seams::AttrChange: `what` is its bit set (unknown bits are refused with invalid_argument).
struct AttrChange {
  what @0 :UInt32;
  mode @1 :UInt32;
  uid @2 :UInt32;
  gid @3 :UInt32;
  atimeNs @4 :Int64;
  mtimeNs @5 :Int64;
}

# seams::OpenedFile: what Vault.open answers.
struct OpenedFile {
  handle @0 :UInt64;
  attr @1 :FileAttr;
}

struct DirEntry {
  name @0 :Text;
  attr @1 :FileAttr;
}

struct ChangeEvent {
  enum Kind {
    modified @0;
    created @1;
    removed @2;
    renamed @3;
  }
  kind @0 :Kind;
  path @1 :Text;
  oldPath @2 :Text;
  version @3 :UInt64;
  inode @4 :UInt64;  # the file's backing inode after the change; 0 where unknown
}

# Implemented by the subscriber; the owner calls it once per change, in order per path.
interface ChangeListener {
  changed @0 (event :ChangeEvent) -> ();
}

interface Vault {
  stat @0 (path :Text) -> (error :Error, attr :FileAttr);
  list @1 (path :Text) -> (error :Error, entries :List(DirEntry));
  read @2 (path :Text, offset :UInt64, length :UInt64)
      -> (error :Error, data :Data, version :UInt64, fileSize :UInt64);
  write @3 (path :Text, offset :UInt64, data :Data) -> (error :Error, attr :FileAttr);
  put @4 (path :Text, data :Data) -> (error :Error, attr :FileAttr);
  create @5 (path :Text, mode :UInt32) -> (error :Error, attr :FileAttr);
  mkdir @6 (path :Text, mode :UInt32) -> (error :Error, attr :FileAttr);
  unlink @7 (path :Text) -> (error :Error);
  rmdir @8 (path :Text) -> (error :Error);
  rename @9 (from :Text, to :Text) -> (error :Error, attr :FileAttr);
  truncate @10 (path :Text, size :UInt64) -> (error :Error, attr :FileAttr);
  fsync @11 (path :Text) -> (error :Error);
  reconcile @12 (path :Text) -> (error :Error);

  # The change feed: the owner calls listener.changed() for every change until the returned
  # handle is dropped.
  subscribe @13 (listener :ChangeListener) -> (handle :Handle);

  # chmod/chown/utimens (Vault::setAttributes). An older owner answers UNIMPLEMENTED, which the
  # stub reports as not_supported.
  setAttributes @14 (path :Text, change :AttrChange) -> (error :Error, attr :FileAttr);

  # Handle-based I/O (Vault::open and the calls by handle; `mode` is seams::OpenMode's bits). A
  # handle belongs to the connection that opened it: another connection's id is bad_handle, the
  # owner releases what a connection still holds when it closes, and a connection holding the
  # server's max_open_handles gets too_many_open. An older owner answers UNIMPLEMENTED, which the
  # stub reports as not_supported.
  open @15 (path :Text, mode :UInt32) -> (error :Error, opened :OpenedFile);
  readHandle @16 (handle :UInt64, offset :UInt64, length :UInt64)
      -> (error :Error, data :Data, version :UInt64, fileSize :UInt64);
  writeHandle @17 (handle :UInt64, offset :UInt64, data :Data) -> (error :Error, attr :FileAttr);
  statHandle @18 (handle :UInt64) -> (error :Error, attr :FileAttr);
  truncateHandle @19 (handle :UInt64, size :UInt64) -> (error :Error, attr :FileAttr);
  fsyncHandle @20 (handle :UInt64) -> (error :Error);
  releaseHandle @21 (handle :UInt64) -> (error :Error);

  # The coupling probe (Vault::probe, core/common/probe.h): workUs microseconds of CPU work at the
  # owner, answered with replyBytes bytes derived from it and the owner's calibration. Beyond the
  # owner's [probe] limits: invalid_argument. An older owner answers UNIMPLEMENTED (not_supported).
  probe @22 (workUs :UInt64, replyBytes :UInt64)
      -> (error :Error, data :Data, iterationsPerUs :Float64);
}
