// Upstreams for the coherence tests: a real LocalVault / LocalAuth behind a wrapper that counts the
// calls that reach it, can play "the owner is down" (every call answers unavailable), and lets a
// test inject feed events (the stubs' resync) beside the real ones.
#pragma once

#include <atomic>
#include <memory>

#include "core/coherence/listener_set.h"
#include "tests/support/interposed_auth.h"
#include "tests/support/interposed_vault.h"

namespace seams::testing {

class ScriptedVault final : public InterposedVault {
 public:
  explicit ScriptedVault(Vault& real) : InterposedVault(real) {
    sub_ = real.subscribe([this](const ChangeEvent& e) { listeners_.publish(e); });
  }
  ~ScriptedVault() override { sub_.reset(); }

  std::atomic<int> calls{0};
  std::atomic<bool> down{false};
  void inject(const ChangeEvent& e) { listeners_.publish(e); }
  void resync() { inject(ChangeEvent{ChangeEvent::Kind::modified, {}, {}, 0}); }

  // The real feed plus what the test injects.
  std::unique_ptr<Subscription> subscribe(ChangeListener l) override {
    return listeners_.add(std::move(l));
  }

 protected:
  Status before(std::string_view, const VaultPath*) override {
    ++calls;
    if (down) return Status(Errc::unavailable, "owner down");
    return okStatus();
  }

 private:
  ListenerSet<ChangeListener, ChangeEvent> listeners_;
  std::unique_ptr<Subscription> sub_;
};

class ScriptedAuth final : public InterposedAuth {
 public:
  explicit ScriptedAuth(Auth& real) : InterposedAuth(real) {
    sub_ = real.subscribe([this](const AuthEvent& e) { listeners_.publish(e); });
  }
  ~ScriptedAuth() override { sub_.reset(); }

  std::atomic<int> calls{0};
  std::atomic<bool> down{false};
  void resync() {
    listeners_.publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
    listeners_.publish(AuthEvent{AuthEvent::Kind::session_ended, {}, {}});
  }

  // The real feed plus the resyncs.
  std::unique_ptr<Subscription> subscribe(AuthListener l) override {
    return listeners_.add(std::move(l));
  }

 protected:
  Status before(std::string_view, const VaultPath*) override {
    ++calls;
    if (down) return Status(Errc::unavailable, "owner down");
    return okStatus();
  }

 private:
  ListenerSet<AuthListener, AuthEvent> listeners_;
  std::unique_ptr<Subscription> sub_;
};

}  // namespace seams::testing
