# The control API of a running deployment: what `seamctl` speaks to seamd and to seam-split over
# their control socket (a UNIX socket, mode 0600, peer uid checked with SO_PEERCRED).
#
# Evolution (see ipc/SCHEMA_EVOLUTION.md): add fields and methods with new ordinals only; never
# renumber, retype or reuse one. Errors are values (Outcome), not RPC exceptions, so a client tells
# "no such service" from "the daemon went away".
@0xf4371ff6d5b2e04e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("seams::wire::control");

enum FaultKind {
  crash @0;   # the service's thread ends, as if it crashed
  hang @1;    # it stops touching its heartbeat and blocks
  throw @2;   # its run() throws
  abort @3;   # abort(): the whole process dies
}

# The result of a command. `code` is seams::Errc as its integer (0: ok); decode with errcFromWire().
struct Outcome {
  code @0 :UInt32;
  message @1 :Text;
}

# One supervised unit: a service inside seamd, or a daemon under seam-split.
struct StatusRow {
  name @0 :Text;
  kind @1 :Text;              # "service" | "daemon"
  state @2 :Text;             # starting | running | backoff | failed | stopping | stopped
  pid @3 :Int64;              # the process it runs in (0 if none)
  restarts @4 :UInt32;
  lastError @5 :Text;         # "" if none
  heartbeatAgeMs @6 :Float64; # negative when not watched or not running
  abandonedThreads @7 :UInt32; # hung threads left behind (restart-on-hang); 0 for daemons
}

# One entry of one of the process's FS caches.
struct CacheEntry {
  cache @0 :Text;    # "vault" (the owner's cache) | "frontend" (a split frontend's own)
  kind @1 :Text;     # "attr" | "list" | "content"
  path @2 :Text;
  version @3 :UInt64; # 0 for listings
  bytes @4 :UInt64;   # charged against the cache's budget
}

interface Control {
  status @0 () -> (rows :List(StatusRow));
  # The process's metrics as Prometheus text.
  stats @1 () -> (text :Text);
  # Restarts one unit (and, under rest_for_one, its dependents). Answers once requested.
  restart @2 (name :Text) -> (outcome :Outcome);
  # Fault injection; refused unless the deployment's config sets [faults] enabled = true.
  fault @3 (name :Text, kind :FaultKind) -> (outcome :Outcome);
  # An orderly stop of the whole deployment. Answers once requested.
  stop @4 () -> (outcome :Outcome);
  # Every entry of this process's FS caches (a launcher holds none). O(entries): for
  # introspection and the bench's "cache bytes held twice", not for polling.
  caches @5 () -> (entries :List(CacheEntry));
}
