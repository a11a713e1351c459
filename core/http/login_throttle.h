// LoginThrottle: growing delays after failed logins, per client address and per user name.
//
// The rule (configurable through [http] login_* keys, see config.h):
//  - Every failed login counts against the client address it came from and against the user
//    name it tried, known or not. The throttle never asks which users exist, so what it
//    answers tells a guesser nothing about them (and no answer depends on the password).
//  - Address: after `free_per_address` failures, an attempt from that address must come at
//    least delay(k) after the address's last failure, k being the failures past the free ones:
//    delay(k) = min(delay_base * 2^(k-1), delay_max).
//  - User: after `free_per_user` failures against a name, the same growing delay (counted on
//    the name's failures, from its last failure) applies to that name -- for the addresses
//    that have failed against it. An address that has not failed against the name gets
//    through, so a flood against one user cannot lock that user out from elsewhere; a guesser
//    spread over many addresses gains one attempt per fresh address, then meets both delays.
//  - A success forgets the address's record and its failures against that name; a name's own
//    record is not cleared by a success (or a guesser who also knows one password could reset
//    it), it is forgotten `forget_after` after its last failure, like every record.
//  - admit() answers how long the attempt must still wait: the HTTP frontend answers 429 with
//    Retry-After and computes no hash.
//
// Memory is bounded: each table holds at most kMaxRecords records; a full table first drops
// the records past their forget time, then the ones whose last failure is oldest.
//
// Thread-safety: every method may be called from any thread; one mutex guards the tables,
// held for a few map operations (never while a password is hashed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/common/clock.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"

namespace seams::http {

class LoginThrottle {
 public:
  static constexpr std::size_t kMaxRecords = 16384;

  struct Options {
    int free_per_address = 10;
    int free_per_user = 5;
    std::chrono::milliseconds delay_base{1000};
    std::chrono::milliseconds delay_max{60'000};
    std::chrono::seconds forget_after{900};
  };
  static Options optionsFrom(const HttpConfig& config);

  // Which rule made an attempt wait.
  enum class Scope : std::uint8_t { address = 0, user = 1 };
  struct Wait {
    Scope scope = Scope::address;
    std::chrono::milliseconds remaining{0};
  };

  // `clock` must outlive the throttle.
  LoginThrottle(Options options, const Clock& clock);

  // nullopt: the attempt may go ahead; otherwise how long it must still wait, and why.
  std::optional<Wait> admit(std::string_view user, std::string_view address) const;
  // The outcome of an attempt that went ahead.
  void failed(std::string_view user, std::string_view address);
  void succeeded(std::string_view user, std::string_view address);

  // Records held (addresses, names, name-address pairs), for tests and metrics.
  std::size_t records() const;

 private:
  struct Record {
    std::uint32_t failures = 0;
    MonoTime last_failure{};
  };
  using Table = std::unordered_map<std::string, Record>;

  std::chrono::milliseconds delay(std::uint32_t failures, int free) const;
  // The wait a record still imposes at `now` (0 when none).
  std::chrono::milliseconds remaining(const Record& r, int free, MonoTime now) const;
  void bump(Table& table, const std::string& key, MonoTime now) REQUIRES(mu_);
  static std::string pairKey(std::string_view user, std::string_view address);

  const Options options_;
  const Clock& clock_;
  mutable Mutex mu_;
  Table by_address_ GUARDED_BY(mu_);
  Table by_user_ GUARDED_BY(mu_);
  Table by_pair_ GUARDED_BY(mu_);  // user '\0' address -> that address's failures on it
};

}  // namespace seams::http
