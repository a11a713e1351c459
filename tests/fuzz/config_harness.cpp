// fuzzConfig: TOML text through parseConfig(), as seamd and seam-split read their config file.
// Accepted: the Config renders and parses back to itself (the contract of renderConfig()).
// Refused: invalid_argument with a message that starts with the source name, as config.h says.
#include <string>

#include "core/config/config.h"
#include "tests/fuzz/harness.h"

namespace seams::fuzz {

Status fuzzConfig(std::string_view input) {
  constexpr std::string_view kSource = "fuzz.toml";
  const std::string base_dir = "/fuzz/base";
  Result<Config> config = parseConfig(input, kSource, base_dir);
  if (!config.ok()) {
    const Status& s = config.status();
    if (s.code() != Errc::invalid_argument) {
      return Status(Errc::internal,
                    "refused with " + std::string(errcName(s.code())) + ": " + s.message());
    }
    if (s.message().compare(0, kSource.size(), kSource) != 0) {
      return Status(Errc::internal, "error does not name the source: " + s.message());
    }
    return okStatus();
  }
  const std::string text = renderConfig(*config);
  Result<Config> again = parseConfig(text, kSource, base_dir);
  if (!again.ok()) {
    return Status(Errc::internal,
                  "a rendered config does not parse: " + again.status().message() + "\n" + text);
  }
  again->source = config->source;  // not rendered (config.h)
  if (!(*again == *config)) {
    return Status(Errc::internal, "render/parse round trip changed the config:\n" + text);
  }
  return okStatus();
}

}  // namespace seams::fuzz
