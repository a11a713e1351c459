#include "core/http/rule_json.h"

#include <string>
#include <string_view>

namespace seams::http {

using Json = nlohmann::json;

Result<Rule> ruleFromJson(const Json& j) {
  if (!j.is_object()) return Status(Errc::invalid_argument, "rule must be a JSON object");
  Rule rule;
  auto subject = j.find("subject");
  if (subject == j.end() || !subject->is_string()) {
    return Status(Errc::invalid_argument, "rule.subject must be \"user:NAME\" or \"group:NAME\"");
  }
  std::string_view s = subject->get_ref<const std::string&>();
  if (s.starts_with("user:")) {
    rule.subject_kind = Rule::Subject::user;
    s.remove_prefix(5);
  } else if (s.starts_with("group:")) {
    rule.subject_kind = Rule::Subject::group;
    s.remove_prefix(6);
  } else {
    return Status(Errc::invalid_argument, "rule.subject must be \"user:NAME\" or \"group:NAME\"");
  }
  if (s.empty()) return Status(Errc::invalid_argument, "rule.subject has an empty name");
  rule.subject = std::string(s);

  auto prefix = j.find("prefix");
  if (prefix == j.end() || !prefix->is_string()) {
    return Status(Errc::invalid_argument, "rule.prefix must be a path string");
  }
  Result<VaultPath> p = VaultPath::parse(prefix->get_ref<const std::string&>());
  if (!p.ok()) return p.status();
  rule.prefix = *p;

  auto access = j.find("access");
  if (access == j.end() || !access->is_array() || access->empty()) {
    return Status(Errc::invalid_argument, "rule.access must be a non-empty array");
  }
  for (const Json& a : *access) {
    if (!a.is_string()) return Status(Errc::invalid_argument, "rule.access holds strings");
    const std::string& name = a.get_ref<const std::string&>();
    bool known = false;
    for (Access x : {Access::read, Access::write, Access::list, Access::admin}) {
      if (name == accessName(x)) {
        rule.access |= mask(x);
        known = true;
      }
    }
    if (!known) return Status(Errc::invalid_argument, "rule.access: unknown access '" + name + "'");
  }

  auto effect = j.find("effect");
  if (effect != j.end()) {
    if (!effect->is_string()) return Status(Errc::invalid_argument, "rule.effect must be a string");
    const std::string& e = effect->get_ref<const std::string&>();
    if (e == "allow") {
      rule.effect = Rule::Effect::allow;
    } else if (e == "deny") {
      rule.effect = Rule::Effect::deny;
    } else {
      return Status(Errc::invalid_argument, "rule.effect must be \"allow\" or \"deny\"");
    }
  }
  return rule;
}

Json ruleToJson(const Rule& r) {
  Json access = Json::array();
  for (Access x : {Access::read, Access::write, Access::list, Access::admin}) {
    if (r.access & mask(x)) access.push_back(accessName(x));
  }
  return Json{{"subject",
               std::string(r.subject_kind == Rule::Subject::user ? "user:" : "group:") + r.subject},
              {"prefix", r.prefix.str()},
              {"access", std::move(access)},
              {"effect", r.effect == Rule::Effect::allow ? "allow" : "deny"}};
}

}  // namespace seams::http
