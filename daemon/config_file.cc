#include "daemon/config_file.h"

#include <toml++/toml.h>

#include <mutex>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace ringtrack {
namespace {

std::mutex g_origin_mu;
std::map<std::string, std::string> g_origin;  // flag → "FILE:LINE"

bool IsOurs(const absl::CommandLineFlag& f, std::string_view main_file,
            const std::set<std::string>& not_keys) {
  return absl::EndsWith(f.Filename(), std::string(main_file)) &&
         !not_keys.count(std::string(f.Name()));
}

// A TOML value as the text absl's flag parser takes; false if unsupported.
bool FlagText(const toml::node& n, std::string* out) {
  if (auto s = n.value<std::string>(); s && n.is_string()) {
    *out = *s;
  } else if (n.is_integer()) {
    *out = absl::StrCat(*n.value<int64_t>());
  } else if (n.is_floating_point()) {
    *out = absl::StrCat(*n.value<double>());
  } else if (n.is_boolean()) {
    *out = *n.value<bool>() ? "true" : "false";
  } else if (const toml::array* a = n.as_array()) {
    std::vector<std::string> parts;
    for (const toml::node& e : *a) {
      std::string t;
      if (e.is_array() || e.is_table() || !FlagText(e, &t)) return false;
      parts.push_back(t);
    }
    *out = absl::StrJoin(parts, ",");
  } else {
    return false;
  }
  return true;
}

std::string TomlQuote(std::string_view s) {
  return absl::StrCat("\"",
                      absl::StrReplaceAll(std::string(s),
                                          {{"\\", "\\\\"}, {"\"", "\\\""}}),
                      "\"");
}

}  // namespace

absl::Status ApplyConfigFile(const std::string& path, std::string_view main_file,
                             const std::set<std::string>& not_keys,
                             const std::set<std::string>& on_command_line) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.source().begin.line, ": ",
                     std::string(e.description())));
  }
  const auto flags = absl::GetAllFlags();
  for (const auto& [name, flag] : flags) {
    if (!IsOurs(*flag, main_file, not_keys) ||
        on_command_line.count(std::string(name))) {
      continue;
    }
    std::string err;
    flag->ParseFrom(flag->DefaultValue(), &err);
  }
  std::map<std::string, std::string> origin;
  for (const auto& [key, node] : root) {
    const std::string name = absl::StrReplaceAll(std::string(key.str()), {{"-", "_"}});
    const std::string where = absl::StrCat(path, ":", node.source().begin.line);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !IsOurs(*flag, main_file, not_keys)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown key '", std::string(key.str()),
          "' (keys are ringtrackd's flag names; see --help)"));
    }
    origin[name] = where;
    if (on_command_line.count(name)) continue;  // the command line wins
    std::string text, err;
    if (!FlagText(node, &text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": key '", name, "': a string, number, boolean or array is "
          "expected"));
    }
    if (!flag->ParseFrom(text, &err)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": key '", name, "': ", err));
    }
  }
  std::lock_guard<std::mutex> lock(g_origin_mu);
  g_origin = std::move(origin);
  return absl::OkStatus();
}

std::string ConfigOrigin(std::string_view flag) {
  std::lock_guard<std::mutex> lock(g_origin_mu);
  auto it = g_origin.find(std::string(flag));
  return it == g_origin.end() ? "" : it->second;
}

std::map<std::string, std::string> EffectiveFlags(
    std::string_view main_file, const std::set<std::string>& not_keys) {
  std::map<std::string, std::string> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsOurs(*flag, main_file, not_keys)) continue;
    const std::string v = flag->CurrentValue();
    std::string toml;
    if (flag->IsOfType<bool>() || flag->IsOfType<int>() ||
        flag->IsOfType<int64_t>() || flag->IsOfType<uint32_t>() ||
        flag->IsOfType<double>()) {
      toml = v;
    } else if (flag->IsOfType<std::vector<std::string>>()) {
      std::vector<std::string> items;
      for (absl::string_view s : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        items.push_back(TomlQuote(std::string(s)));
      }
      toml = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    } else {
      toml = TomlQuote(v);
    }
    out[std::string(name)] = toml;
  }
  return out;
}

std::map<std::string, std::string> SaveFlags(
    std::string_view main_file, const std::set<std::string>& not_keys) {
  std::map<std::string, std::string> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOurs(*flag, main_file, not_keys)) {
      out[std::string(name)] = flag->CurrentValue();
    }
  }
  return out;
}

void RestoreFlags(const std::map<std::string, std::string>& saved) {
  for (const auto& [name, value] : saved) {
    if (absl::CommandLineFlag* f = absl::FindCommandLineFlag(name)) {
      std::string err;
      f->ParseFrom(value, &err);
    }
  }
}

std::string EffectiveConfigToml(std::string_view main_file,
                                const std::set<std::string>& not_keys) {
  std::string out =
      "# ringtrackd's effective configuration (--print-config). Every key is\n"
      "# a flag of the same name; see ringtrackd --help.\n";
  for (const auto& [name, value] : EffectiveFlags(main_file, not_keys)) {
    absl::StrAppend(&out, name, " = ", value, "\n");
  }
  return out;
}

}  // namespace ringtrack
