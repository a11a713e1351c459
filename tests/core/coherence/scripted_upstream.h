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

// What the test sets and reads on either upstream.
struct UpstreamScript {
  std::atomic<int> calls{0};  // every call that reached the wrapper, answered or not
  std::atomic<bool> down{false};

  // The hook's answer: counts the call, refuses it while down.
  Status admit() {
    ++calls;
    if (down) return Status(Errc::unavailable, "owner down");
    return okStatus();
  }
};

// Feeds: the real one (subscribed for the wrapper's lifetime) plus what the test publishes.
template <typename Listener, typename Event>
class ScriptedFeed {
 public:
  template <typename Upstream>
  explicit ScriptedFeed(Upstream& real)
      : sub_(real.subscribe([this](const Event& e) { listeners_.publish(e); })) {}
  ~ScriptedFeed() { sub_.reset(); }  // before listeners_ goes

  void publish(const Event& e) { listeners_.publish(e); }
  std::unique_ptr<Subscription> add(Listener l) { return listeners_.add(std::move(l)); }

 private:
  ListenerSet<Listener, Event> listeners_;
  std::unique_ptr<Subscription> sub_;
};

class ScriptedVault final : public InterposedVault, public UpstreamScript {
 public:
  explicit ScriptedVault(Vault& real) : InterposedVault(real), feed_(real) {}

  void inject(const ChangeEvent& e) { feed_.publish(e); }
  void resync() { inject(ChangeEvent{ChangeEvent::Kind::modified, {}, {}, 0}); }
  std::unique_ptr<Subscription> subscribe(ChangeListener l) override {
    return feed_.add(std::move(l));
  }

 protected:
  Status before(std::string_view, const VaultPath*) override { return admit(); }

 private:
  ScriptedFeed<ChangeListener, ChangeEvent> feed_;
};

class ScriptedAuth final : public InterposedAuth, public UpstreamScript {
 public:
  explicit ScriptedAuth(Auth& real) : InterposedAuth(real), feed_(real) {}

  void resync() {
    feed_.publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
    feed_.publish(AuthEvent{AuthEvent::Kind::session_ended, {}, {}});
  }
  std::unique_ptr<Subscription> subscribe(AuthListener l) override {
    return feed_.add(std::move(l));
  }

 protected:
  Status before(std::string_view, const VaultPath*) override { return admit(); }

 private:
  ScriptedFeed<AuthListener, AuthEvent> feed_;
};

}  // namespace seams::testing
