#include "daemon/config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "daemon/privileges.h"

namespace ringtrack {
namespace {

using setting::Kind;

std::mutex g_origin_mu;
std::map<std::string, std::string> g_origin;  // flag → "FILE:LINE"

const setting::Info* FindSetting(std::span<const setting::Info> settings,
                                 absl::string_view name) {
  for (const setting::Info& s : settings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// What a TOML node is, for errors.
std::string NodeType(const toml::node& n) {
  if (n.is_string()) return absl::StrCat("a string (\"", *n.value<std::string>(), "\")");
  if (n.is_integer()) return absl::StrCat("an integer (", *n.value<int64_t>(), ")");
  if (n.is_floating_point()) {
    std::string v = absl::StrFormat("%.17g", *n.value<double>());
    if (v.find_first_of(".en") == std::string::npos) v += ".0";
    return absl::StrCat("a floating-point number (", v, ")");
  }
  if (n.is_boolean()) return "a boolean";
  if (const toml::array* a = n.as_array()) {
    for (const toml::node& e : *a) {
      if (!e.is_string()) return absl::StrCat("an array holding ", NodeType(e));
    }
    return "an array";
  }
  if (n.is_table()) return "a table";
  return "a date or time";
}

// A scalar TOML value as the text absl's flag parser takes.
std::string ScalarText(const toml::node& n) {
  if (n.is_string()) return *n.value<std::string>();
  if (n.is_integer()) return absl::StrCat(*n.value<int64_t>());
  if (n.is_floating_point()) return absl::StrCat(*n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  return "";
}

// The text for the flag of `kind` from TOML value `n`, or false when `n`
// has another type. A string of digits is not an integer: `interval =
// "600"` is refused rather than read, as it usually is a quoted number
// whose unit the writer was unsure of.
bool FlagText(const toml::node& n, Kind kind, std::string* out) {
  switch (kind) {
    case Kind::kInt:
      if (!n.is_integer()) return false;
      break;
    case Kind::kReal:
      if (!n.is_integer() && !n.is_floating_point()) return false;
      break;
    case Kind::kBool:
      if (!n.is_boolean()) return false;
      break;
    case Kind::kText:
      if (!n.is_string()) return false;
      break;
    case Kind::kBytes:
      if (!n.is_integer() && !n.is_string()) return false;
      break;
    case Kind::kDuration:  // a bare number gets the parser's "add a unit"
      if (!n.is_integer() && !n.is_floating_point() && !n.is_string()) return false;
      break;
    case Kind::kSeconds: {
      int64_t digits = 0;
      if (n.is_string() && absl::SimpleAtoi(*n.value<std::string>(), &digits)) {
        return false;
      }
      if (!n.is_integer() && !n.is_string()) return false;
      break;
    }
    case Kind::kList:
      if (const toml::array* a = n.as_array()) {
        std::vector<std::string> parts;
        for (const toml::node& e : *a) {
          if (!e.is_string()) return false;
          parts.push_back(*e.value<std::string>());
        }
        *out = absl::StrJoin(parts, ",");
        return true;
      }
      if (!n.is_string()) return false;
      break;
  }
  *out = ScalarText(n);
  return true;
}

std::string TomlQuote(std::string_view s) {
  return absl::StrCat("\"",
                      absl::StrReplaceAll(std::string(s),
                                          {{"\\", "\\\\"}, {"\"", "\\\""}}),
                      "\"");
}

// The whole file at `path`, or an error with errno's text and the user
// reading it (toml++'s own reader says only "could not be opened", at a
// line 0).
absl::StatusOr<std::string> ReadConfigText(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": cannot read it as user ", CurrentUserName(), ": ", std::strerror(err)));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": cannot read it as user ", CurrentUserName(), ": ", std::strerror(err)));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace

absl::Status ApplyConfigFile(const std::string& path,
                             std::span<const setting::Info> settings,
                             const std::set<std::string>& on_command_line,
                             std::vector<std::string>* overridden) {
  absl::StatusOr<std::string> text = ReadConfigText(path);
  if (!text.ok()) return text.status();
  toml::table root;
  try {
    root = toml::parse(*text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.source().begin.line, ": ",
                     std::string(e.description())));
  }
  for (const setting::Info& s : settings) {
    if (on_command_line.count(std::string(s.name))) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(std::string(s.name));
    std::string err;
    flag->ParseFrom(flag->DefaultValue(), &err);
  }
  std::map<std::string, std::string> origin;
  for (const auto& [key, node] : root) {
    const std::string name = absl::StrReplaceAll(std::string(key.str()), {{"-", "_"}});
    const std::string where = absl::StrCat(path, ":", node.source().begin.line);
    const setting::Info* s = FindSetting(settings, name);
    if (s == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown key '", std::string(key.str()),
          "' (keys are ringtrackd's settings; see --help or README)"));
    }
    origin[name] = where;
    if (on_command_line.count(name)) {
      overridden->push_back(absl::StrCat(
          name, " from ", where, " overridden by the command line"));
      continue;
    }
    std::string value, err;
    if (!FlagText(node, s->kind, &value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": key '", name, "' must be ", setting::KindExpects(s->kind),
          ", not ", NodeType(node)));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!flag->ParseFrom(value, &err)) {
      // absl says "Illegal value 'V' specified for flag 'F'; WHY": the key
      // and the line are named already, WHY is what helps.
      if (const size_t why = err.find("'; "); err.starts_with("Illegal value") &&
                                              why != std::string::npos) {
        err = err.substr(why + 3);
      }
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
    std::span<const setting::Info> settings) {
  std::map<std::string, std::string> out;
  for (const setting::Info& s : settings) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(std::string(s.name));
    const std::string v = flag->CurrentValue();
    std::string toml;
    switch (s.kind) {
      case Kind::kInt:
      case Kind::kReal:
      case Kind::kBool:
      case Kind::kSeconds:
        toml = v;
        break;
      case Kind::kList: {
        std::vector<std::string> items;
        for (absl::string_view e : absl::StrSplit(v, ',', absl::SkipEmpty())) {
          items.push_back(TomlQuote(std::string(e)));
        }
        toml = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
        break;
      }
      default:
        toml = TomlQuote(v);
    }
    out[std::string(s.name)] = toml;
  }
  return out;
}

std::map<std::string, std::string> SaveFlags(std::span<const setting::Info> settings) {
  std::map<std::string, std::string> out;
  for (const setting::Info& s : settings) {
    out[std::string(s.name)] =
        absl::FindCommandLineFlag(std::string(s.name))->CurrentValue();
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

std::string EffectiveConfigToml(std::span<const setting::Info> settings) {
  std::string out =
      "# ringtrackd's effective configuration (--print-config). Every key is\n"
      "# a setting of the same name; see ringtrackd --help.\n";
  const std::map<std::string, std::string> values = EffectiveFlags(settings);
  for (const setting::Info& s : settings) {
    absl::StrAppend(&out, s.name, " = ", values.at(std::string(s.name)), "\n");
  }
  return out;
}

}  // namespace ringtrack
