// `seamctl init DIR`: writes a complete, runnable deployment.
//
//   DIR/seams.toml    every section and key (renderConfig), mode 0600 (it holds password hashes)
//   DIR/vault/        a small demo vault: a README and a few directories of text files; the
//                     root and its directories 0700, files 0600 (private to the invoking user)
//   DIR/mnt/          the FUSE mountpoint (when none is given)
//   DIR/credentials   "user password" a line, mode 0600; the same lines are printed to `out`
//
// Demo users, each with a fresh random password (24 URL-safe characters from 18 bytes of
// libsodium's randombytes), stored as an Argon2id hash (hashPassword(), INTERACTIVE limits):
//   admin  uid = the invoking user's uid (0 as root)  read, write, list, admin on /
//   alice  uid 60001                                    read, write, list on /
//   bob    uid 60002                                    read, list on /
// (alice's and bob's uids move up past the admin's if they would collide.) FUSE tests reach the
// mount as alice or bob by switching to those uids (setfsuid/seteuid).
//
// fuse.allow_other is true only where it can work (root, or `user_allow_other` in
// /etc/fuse.conf: see fuse_access.h), so the deployment starts as written for a normal user too.
//
// Paths in seams.toml are relative to DIR (so the directory can be moved) except a mountpoint
// given in the options, which is made absolute against the current directory.
//
// Refuses (already_exists) when DIR/seams.toml exists: nothing is written then. Demo vault files
// that already exist are left as they are. seams.toml is written last, with O_EXCL, after the
// rendered text has been checked with parseConfig(), so a failed init leaves no config behind and
// never leaves one that would not load.
//
// Thread-safety: a plain function; two concurrent inits of one DIR: one wins, one gets
// already_exists (or both may write the vault files, which are the same).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "core/common/status.h"
#include "core/config/config.h"

namespace seams {

struct InitOptions {
  std::string dir;                                // required; created if missing
  std::string http_listen = HttpConfig{}.listen;  // "127.0.0.1:8080"
  std::string mountpoint;                         // default "<dir>/mnt"
  Codec codec = SplitConfig{}.codec;              // capnp
  Coherence coherence = CacheConfig{}.coherence;  // push
  bool faults_enabled = false;
  // Argon2id cost; 0 means hashPassword()'s default (INTERACTIVE). Tests pass libsodium's
  // crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN to stay fast.
  unsigned long long pwhash_opslimit = 0;
  std::size_t pwhash_memlimit = 0;
};

// Writes the deployment and prints what it wrote (with the passwords) to `out`.
// Errors: invalid_argument (empty dir, or options that would make an invalid config, named as in
// loadConfig), already_exists (DIR/seams.toml exists), io_error and friends from the filesystem.
Status initDeployment(const InitOptions& options, std::ostream& out);

}  // namespace seams
