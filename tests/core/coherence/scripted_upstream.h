// Upstreams for the coherence tests: a real LocalVault / LocalAuth behind a wrapper that counts the
// calls that reach it, can play "the owner is down" (every call answers unavailable), and lets a
// test inject feed events (the stubs' resync) beside the real ones.
#pragma once

#include <atomic>
#include <memory>

#include "core/auth/auth.h"
#include "core/coherence/listener_set.h"
#include "core/vault/vault.h"

namespace seams::testing {

class ScriptedVault final : public Vault {
 public:
  explicit ScriptedVault(Vault& real) : real_(real) {
    sub_ = real_.subscribe([this](const ChangeEvent& e) { listeners_.publish(e); });
  }
  ~ScriptedVault() override { sub_.reset(); }

  std::atomic<int> calls{0};
  std::atomic<bool> down{false};
  void inject(const ChangeEvent& e) { listeners_.publish(e); }
  void resync() { inject(ChangeEvent{ChangeEvent::Kind::modified, {}, {}, 0}); }

  template <typename F>
  auto pass(F f) -> decltype(f()) {
    ++calls;
    if (down) return Status(Errc::unavailable, "owner down");
    return f();
  }
  Result<FileAttr> stat(const VaultPath& p) override {
    return pass([&] { return real_.stat(p); });
  }
  Result<std::vector<DirEntry>> list(const VaultPath& p) override {
    return pass([&] { return real_.list(p); });
  }
  Result<ReadResult> read(const VaultPath& p, std::uint64_t o, std::uint64_t n) override {
    return pass([&] { return real_.read(p, o, n); });
  }
  Result<FileAttr> write(const VaultPath& p, std::uint64_t o, std::string_view d) override {
    return pass([&] { return real_.write(p, o, d); });
  }
  Result<FileAttr> put(const VaultPath& p, std::string_view d) override {
    return pass([&] { return real_.put(p, d); });
  }
  Result<FileAttr> create(const VaultPath& p, std::uint32_t m) override {
    return pass([&] { return real_.create(p, m); });
  }
  Result<FileAttr> mkdir(const VaultPath& p, std::uint32_t m) override {
    return pass([&] { return real_.mkdir(p, m); });
  }
  Status unlink(const VaultPath& p) override {
    return pass([&] { return real_.unlink(p); });
  }
  Status rmdir(const VaultPath& p) override {
    return pass([&] { return real_.rmdir(p); });
  }
  Result<FileAttr> rename(const VaultPath& a, const VaultPath& b) override {
    return pass([&] { return real_.rename(a, b); });
  }
  Result<FileAttr> truncate(const VaultPath& p, std::uint64_t s) override {
    return pass([&] { return real_.truncate(p, s); });
  }
  Result<FileAttr> setAttributes(const VaultPath& p, const AttrChange& c) override {
    return pass([&] { return real_.setAttributes(p, c); });
  }
  Status fsync(const VaultPath& p) override {
    return pass([&] { return real_.fsync(p); });
  }
  Result<OpenedFile> open(const VaultPath& p, std::uint32_t m) override {
    return pass([&] { return real_.open(p, m); });
  }
  Result<ReadResult> readHandle(HandleId h, std::uint64_t o, std::uint64_t l) override {
    return pass([&] { return real_.readHandle(h, o, l); });
  }
  Result<FileAttr> writeHandle(HandleId h, std::uint64_t o, std::string_view d) override {
    return pass([&] { return real_.writeHandle(h, o, d); });
  }
  Result<FileAttr> statHandle(HandleId h) override {
    return pass([&] { return real_.statHandle(h); });
  }
  Result<FileAttr> truncateHandle(HandleId h, std::uint64_t s) override {
    return pass([&] { return real_.truncateHandle(h, s); });
  }
  Status fsyncHandle(HandleId h) override {
    return pass([&] { return real_.fsyncHandle(h); });
  }
  Status release(HandleId h) override {
    return pass([&] { return real_.release(h); });
  }
  Status reconcile(const VaultPath& p) override {
    return pass([&] { return real_.reconcile(p); });
  }
  std::unique_ptr<Subscription> subscribe(ChangeListener l) override {
    return listeners_.add(std::move(l));
  }

 private:
  Vault& real_;
  ListenerSet<ChangeListener, ChangeEvent> listeners_;
  std::unique_ptr<Subscription> sub_;
};

class ScriptedAuth final : public Auth {
 public:
  explicit ScriptedAuth(Auth& real) : real_(real) {
    sub_ = real_.subscribe([this](const AuthEvent& e) { listeners_.publish(e); });
  }
  ~ScriptedAuth() override { sub_.reset(); }

  std::atomic<int> calls{0};
  std::atomic<bool> down{false};
  void resync() {
    listeners_.publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
    listeners_.publish(AuthEvent{AuthEvent::Kind::session_ended, {}, {}});
  }

  template <typename F>
  auto pass(F f) -> decltype(f()) {
    ++calls;
    if (down) return Status(Errc::unavailable, "owner down");
    return f();
  }
  Result<Session> login(std::string_view u, std::string_view p) override {
    return pass([&] { return real_.login(u, p); });
  }
  Status logout(std::string_view t) override {
    return pass([&] { return real_.logout(t); });
  }
  Result<Principal> validate(std::string_view t) override {
    return pass([&] { return real_.validate(t); });
  }
  Status check(const Principal& w, const VaultPath& p, Access a) override {
    return pass([&] { return real_.check(w, p, a); });
  }
  Result<Principal> authorize(std::string_view t, const VaultPath& p, Access a) override {
    return pass([&] { return real_.authorize(t, p, a); });
  }
  Result<Principal> principalForUid(std::uint32_t uid) override {
    return pass([&] { return real_.principalForUid(uid); });
  }
  Status grant(const Principal& a, const Rule& r) override {
    return pass([&] { return real_.grant(a, r); });
  }
  Status revoke(const Principal& a, const Rule& r) override {
    return pass([&] { return real_.revoke(a, r); });
  }
  Result<std::vector<Rule>> rules() override {
    return pass([&] { return real_.rules(); });
  }
  std::unique_ptr<Subscription> subscribe(AuthListener l) override {
    return listeners_.add(std::move(l));
  }

 private:
  Auth& real_;
  ListenerSet<AuthListener, AuthEvent> listeners_;
  std::unique_ptr<Subscription> sub_;
};

}  // namespace seams::testing
