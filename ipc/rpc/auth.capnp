# The Auth interface (core/auth/auth.h) on the wire. Evolution rules: ipc/SCHEMA_EVOLUTION.md.
#
# Round trips: a frontend request needs "who is this token" and "may they do this". `authorize`
# answers both in one call. `session` shows the other way Cap'n Proto offers: it returns a
# capability for the session, and a `check` on it can be sent before `session` has answered
# (promise pipelining), so validate-then-check also costs one round trip.
@0xce3ec9640d195fa8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("seams::wire");

using Common = import "common.capnp";
using Error = Common.Error;
using Handle = Common.Handle;

struct Principal {
  user @0 :Text;
  groups @1 :List(Text);
}

struct Session {
  token @0 :Text;
  expiresAtMs @1 :Int64;
}

struct Rule {
  enum Subject {
    user @0;
    group @1;
  }
  enum Effect {
    allow @0;
    deny @1;
  }
  subjectKind @0 :Subject;
  subject @1 :Text;
  prefix @2 :Text;
  access @3 :UInt8;   # AccessMask: read = 1, write = 2, list = 4, admin = 8
  effect @4 :Effect;
}

struct AuthEvent {
  enum Kind {
    rulesChanged @0;
    sessionEnded @1;
  }
  kind @0 :Kind;
  tokenId @1 :Text;   # sessionEnded: tokenId(token), never the token
  user @2 :Text;
}

interface AuthListener {
  event @0 (event :AuthEvent) -> ();
}

# A validated session, for pipelined checks (see the file comment).
interface SessionRef {
  principal @0 () -> (error :Error, principal :Principal);
  # `access` is a single Access bit (1, 2, 4 or 8).
  check @1 (path :Text, access :UInt8) -> (error :Error, principal :Principal);
}

interface Auth {
  login @0 (user :Text, password :Text) -> (error :Error, session :Session);
  logout @1 (token :Text) -> (error :Error);
  validate @2 (token :Text) -> (error :Error, principal :Principal);
  check @3 (principal :Principal, path :Text, access :UInt8) -> (error :Error);
  authorize @4 (token :Text, path :Text, access :UInt8) -> (error :Error, principal :Principal);
  principalForUid @5 (uid :UInt32) -> (error :Error, principal :Principal);
  grant @6 (admin :Principal, rule :Rule) -> (error :Error);
  revoke @7 (admin :Principal, rule :Rule) -> (error :Error);
  rules @8 () -> (error :Error, rules :List(Rule));
  subscribe @9 (listener :AuthListener) -> (handle :Handle);
  # Validates lazily: calls on the returned SessionRef answer unauthenticated for a bad token.
  session @10 (token :Text) -> (session :SessionRef);
}
