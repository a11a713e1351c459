// fuzz_make_seeds DIR: writes the binary seed corpora of the IPC targets into DIR/<target>/, made
// with the real schemas and codecs, so each seed is a valid conversation the fuzzer mutates from:
//   capnp_server  Bootstrap + Call messages of capnp's rpc.capnp (one file per call), first byte
//                 0 = the Vault server, 1 = the Auth server
//   capnp_params  one params struct per call, first byte = the call (capnp_params_harness.cpp)
//   proto_server  length-delimited Request frames (one file per call, plus one pipelined file)
// The HTTP, path, config and FUSE seeds are text or tiny and live in the tree as they are.
#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "ipc/proto/proto_codec.h"
#include "ipc/rpc/auth.capnp.h"
#include "ipc/rpc/vault.capnp.h"

namespace {

namespace fs = std::filesystem;
using seams::wire::Auth;
using seams::wire::Vault;
namespace pb = seams::wire::pb;

void writeFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string bytesOf(capnp::MessageBuilder& m) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(m);
  auto b = words.asBytes();
  return std::string(reinterpret_cast<const char*>(b.begin()), b.size());
}

// Bootstrap (question 0), then one call on the bootstrap capability (question 1), then Finish.
template <typename Params>
std::string rpcCall(std::uint64_t interface_id, std::uint16_t method,
                    const std::function<void(typename Params::Builder)>& fill) {
  std::string out;
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::rpc::Message>().initBootstrap().setQuestionId(0);
    out += bytesOf(m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto call = m.initRoot<capnp::rpc::Message>().initCall();
    call.setQuestionId(1);
    call.initTarget().initPromisedAnswer().setQuestionId(0);
    call.setInterfaceId(interface_id);
    call.setMethodId(method);
    fill(call.initParams().initContent().initAs<Params>());
    out += bytesOf(m);
  }
  for (std::uint32_t q : {1u, 0u}) {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::rpc::Message>().initFinish().setQuestionId(q);
    out += bytesOf(m);
  }
  return out;
}

template <typename Params>
std::string params(const std::function<void(typename Params::Builder)>& fill) {
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<Params>());
  return bytesOf(m);
}

struct CapnpSeed {
  const char* name;
  int server;       // 0 vault, 1 auth
  int params_case;  // capnp_params_harness.cpp's switch
  std::string rpc;
  std::string params;
};

template <typename Params>
CapnpSeed seed(const char* name, int server, std::uint16_t method, int params_case,
               std::function<void(typename Params::Builder)> fill) {
  const std::uint64_t id = server == 0 ? capnp::typeId<Vault>() : capnp::typeId<Auth>();
  return {name, server, params_case, rpcCall<Params>(id, method, fill), params<Params>(fill)};
}

void principal(seams::wire::Principal::Builder p, const char* user, const char* group) {
  p.setUser(user);
  p.initGroups(1).set(0, group);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const CapnpSeed capnp_seeds[] = {
      seed<Vault::StatParams>("stat", 0, 0, 0, [](auto p) { p.setPath("/docs/a.txt"); }),
      seed<Vault::ListParams>("list", 0, 1, 1, [](auto p) { p.setPath("/docs"); }),
      seed<Vault::ReadParams>("read", 0, 2, 2,
                              [](auto p) {
                                p.setPath("/docs/a.txt");
                                p.setOffset(1);
                                p.setLength(3);
                              }),
      seed<Vault::WriteParams>("write", 0, 3, 3,
                               [](auto p) {
                                 p.setPath("/docs/a.txt");
                                 p.setOffset(2);
                                 p.setData(kj::StringPtr("xy").asBytes());
                               }),
      seed<Vault::PutParams>("put", 0, 4, 4,
                             [](auto p) {
                               p.setPath("/docs/b.txt");
                               p.setData(kj::StringPtr("new").asBytes());
                             }),
      seed<Vault::MkdirParams>("mkdir", 0, 6, 6,
                               [](auto p) {
                                 p.setPath("/d");
                                 p.setMode(0755);
                               }),
      seed<Vault::RenameParams>("rename", 0, 9, 9,
                                [](auto p) {
                                  p.setFrom("/docs/a.txt");
                                  p.setTo("/b.txt");
                                }),
      seed<Vault::TruncateParams>("truncate", 0, 10, 10,
                                  [](auto p) {
                                    p.setPath("/docs/a.txt");
                                    p.setSize(2);
                                  }),
      seed<Vault::UnlinkParams>("unlink", 0, 7, 7, [](auto p) { p.setPath("/docs/a.txt"); }),
      seed<Vault::OpenParams>("open", 0, 15, 24,
                              [](auto p) {
                                p.setPath("/docs/a.txt");
                                p.setMode(3);  // read | write
                              }),
      // Handle 1: the first a fresh MemoryVault hands out (bad_handle on any other connection).
      seed<Vault::ReadHandleParams>("read_handle", 0, 16, 25,
                                    [](auto p) {
                                      p.setHandle(1);
                                      p.setOffset(1);
                                      p.setLength(3);
                                    }),
      seed<Vault::WriteHandleParams>("write_handle", 0, 17, 26,
                                     [](auto p) {
                                       p.setHandle(1);
                                       p.setOffset(2);
                                       p.setData(kj::StringPtr("xy").asBytes());
                                     }),
      seed<Auth::LoginParams>("login", 1, 0, 13,
                              [](auto p) {
                                p.setUser("alice");
                                p.setPassword("alice-pw");
                              }),
      seed<Auth::AuthorizeParams>("authorize", 1, 4, 17,
                                  [](auto p) {
                                    p.setToken("tok-bob");
                                    p.setPath("/docs/a.txt");
                                    p.setAccess(1);
                                  }),
      seed<Auth::CheckParams>("check", 1, 3, 16,
                              [](auto p) {
                                principal(p.initPrincipal(), "bob", "staff");
                                p.setPath("/docs");
                                p.setAccess(2);
                              }),
      seed<Auth::GrantParams>("grant", 1, 6, 19,
                              [](auto p) {
                                principal(p.initAdmin(), "admin", "admins");
                                auto r = p.initRule();
                                r.setSubject("bob");
                                r.setPrefix("/x");
                                r.setAccess(3);
                              }),
      seed<Auth::RevokeParams>("revoke", 1, 7, 20,
                               [](auto p) {
                                 principal(p.initAdmin(), "admin", "admins");
                                 auto r = p.initRule();
                                 r.setSubject("bob");
                                 r.setPrefix("/docs");
                                 r.setAccess(5);
                               }),
  };
  for (const CapnpSeed& s : capnp_seeds) {
    writeFile(dir / "capnp_server" / s.name, std::string(1, static_cast<char>(s.server)) + s.rpc);
    writeFile(dir / "capnp_params" / s.name,
              std::string(1, static_cast<char>(s.params_case)) + s.params);
  }

  namespace pc = seams::ipc::protocodec;
  std::uint64_t id = 1;
  std::string all;
  auto frame = [&](const char* name, const std::function<void(pb::Request&)>& fill) {
    pb::Request r;
    r.set_id(id++);
    fill(r);
    std::string bytes;
    pc::appendFrame(r, &bytes);
    writeFile(dir / "proto_server" / name, bytes);
    all += bytes;
  };
  frame("stat", [](pb::Request& r) { r.mutable_stat()->set_path("/docs/a.txt"); });
  frame("list", [](pb::Request& r) { r.mutable_list()->set_path("/docs"); });
  frame("read", [](pb::Request& r) {
    auto* a = r.mutable_read();
    a->set_path("/docs/a.txt");
    a->set_offset(1);
    a->set_length(3);
  });
  frame("write", [](pb::Request& r) {
    auto* a = r.mutable_write();
    a->set_path("/docs/a.txt");
    a->set_offset(2);
    a->set_data("xy");
  });
  frame("put", [](pb::Request& r) {
    auto* a = r.mutable_put();
    a->set_path("/docs/b.txt");
    a->set_data("new");
  });
  frame("rename", [](pb::Request& r) {
    auto* a = r.mutable_rename();
    a->set_from("/docs/a.txt");
    a->set_to("/b.txt");
  });
  frame("login", [](pb::Request& r) {
    auto* a = r.mutable_login();
    a->set_user("alice");
    a->set_password("alice-pw");
  });
  frame("authorize", [](pb::Request& r) {
    auto* a = r.mutable_authorize();
    a->set_token("tok-bob");
    a->set_path("/docs/a.txt");
    a->set_access(1);
  });
  frame("grant", [](pb::Request& r) {
    auto* a = r.mutable_grant();
    a->mutable_admin()->set_user("admin");
    a->mutable_admin()->add_groups("admins");
    a->mutable_rule()->set_subject("bob");
    a->mutable_rule()->set_prefix("/x");
    a->mutable_rule()->set_access(3);
  });
  frame("subscribe", [](pb::Request& r) { r.mutable_vault_subscribe(); });
  // Added with the handle calls: after the first seeds, so their request ids stay.
  frame("open", [](pb::Request& r) {
    r.mutable_open()->set_path("/docs/a.txt");
    r.mutable_open()->set_mode(3);  // read | write
  });
  frame("read_handle", [](pb::Request& r) {
    auto* a = r.mutable_read_handle();
    a->set_handle(1);
    a->set_offset(1);
    a->set_length(3);
  });
  frame("write_handle", [](pb::Request& r) {
    auto* a = r.mutable_write_handle();
    a->set_handle(1);
    a->set_offset(2);
    a->set_data("xy");
  });
  frame("release", [](pb::Request& r) { r.mutable_release()->set_handle(1); });
  writeFile(dir / "proto_server" / "pipelined", all);
  std::printf("seeds written under %s\n", dir.c_str());
  return 0;
}
