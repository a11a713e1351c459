#include "core/auth/auth.h"

#include <sodium.h>

#include "core/auth/sodium_init.h"

namespace seams {

std::string_view accessName(Access a) noexcept {
  switch (a) {
    case Access::read:
      return "read";
    case Access::write:
      return "write";
    case Access::list:
      return "list";
    case Access::admin:
      return "admin";
  }
  return "unknown";
}

std::string tokenId(std::string_view token) {
  // A keyed BLAKE2b with a fixed, public key: the id is the same in every process (the split
  // deployment's frontends compute it to match authd's feed), and it is domain-separated from
  // the session table's own hash of the token, so one never reveals the other. Eight bytes are
  // plenty to tell sessions apart in logs and cannot be turned back into the 32-byte token.
  static constexpr unsigned char kKey[] = "seams.token-id.v1";
  static_assert(sizeof kKey - 1 >= crypto_generichash_KEYBYTES_MIN);
  ensureSodium();
  unsigned char digest[crypto_generichash_BYTES_MIN];  // BLAKE2b's shortest output: 16 bytes
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), kKey, sizeof kKey - 1);
  constexpr std::size_t kIdBytes = 8;
  char hex[kIdBytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, kIdBytes);
  return std::string(hex);
}

}  // namespace seams
