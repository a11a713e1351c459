// Subscription: what every feed's subscribe() returns (the vault's changes, auth's events); the
// listener stays registered exactly as long as the object lives.
#pragma once

namespace seams {

// Unsubscribes when destroyed. REQUIRES: destroyed before the feed that issued it.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

}  // namespace seams
