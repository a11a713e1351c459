# Types shared by the Vault and Auth interfaces. Evolution rules: ipc/SCHEMA_EVOLUTION.md.
@0xc71ffcaa0e11421f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("seams::wire");

# A failed call. `code` is seams::Errc as its integer (decode with errcFromWire(), so a code this
# side does not know becomes `internal`, never undefined behaviour). A results struct whose
# `error` pointer is null means the call succeeded.
struct Error {
  code @0 :UInt32;
  message @1 :Text;
}

# Returned by every subscribe call: the subscription lasts while the subscriber holds this
# capability. Dropping it (or losing the connection) ends the subscription on the owner's side.
interface Handle {}
