#include "daemon/settings.h"

#include <cmath>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/cli/command_line.h"

namespace ringtrack::setting {

bool AbslParseFlag(absl::string_view text, Bytes* out, std::string* error) {
  if (text.empty()) {  // "not set": the row's ZeroOr() decides if allowed
    out->bytes = 0;
    return true;
  }
  absl::StatusOr<uint64_t> b = ParseByteSize(std::string_view(text.data(), text.size()));
  if (!b.ok()) {
    *error = std::string(b.status().message());
    return false;
  }
  out->bytes = *b;
  return true;
}

std::string AbslUnparseFlag(Bytes value) {
  return value.bytes == 0 ? "" : FormatByteSize(value.bytes);
}

bool AbslParseFlag(absl::string_view text, Duration* out, std::string* error) {
  absl::StatusOr<absl::Duration> d =
      ParseDurationWithUnit(std::string_view(text.data(), text.size()));
  if (!d.ok()) {
    *error = std::string(d.status().message());
    return false;
  }
  out->value = *d;
  return true;
}

std::string AbslUnparseFlag(Duration value) {
  return absl::FormatDuration(value.value);
}

bool AbslParseFlag(absl::string_view text, Seconds* out, std::string* error) {
  int64_t s = 0;
  if (absl::SimpleAtoi(text, &s)) {
    out->value = s;
    return true;
  }
  absl::StatusOr<absl::Duration> d =
      ParseDurationWithUnit(std::string_view(text.data(), text.size()));
  if (!d.ok()) {
    *error = absl::StrCat("'", std::string(text),
                          "' is neither whole seconds (900) nor a duration like 15m");
    return false;
  }
  if (*d != absl::Seconds(absl::ToInt64Seconds(*d))) {
    *error = absl::StrCat("'", std::string(text), "' is not a whole number of seconds");
    return false;
  }
  out->value = absl::ToInt64Seconds(*d);
  return true;
}

std::string AbslUnparseFlag(Seconds value) { return absl::StrCat(value.value); }

absl::string_view KindExpects(Kind kind) {
  switch (kind) {
    case Kind::kInt: return "an integer";
    case Kind::kReal: return "a number";
    case Kind::kBool: return "a boolean (true or false, unquoted)";
    case Kind::kText: return "a string";
    case Kind::kList: return "an array of strings (or one string)";
    case Kind::kBytes: return "a size: bytes, or a string with a unit like \"8M\" or \"1.5G\"";
    case Kind::kDuration: return "a duration: a string with a unit like \"30s\" or \"5m\"";
    case Kind::kSeconds:
      return "whole seconds: an integer, or a string with a unit like \"15m\"";
  }
  return "a value";
}

namespace {

// One bound in the kind's unit, as the docs write it.
std::string Bound(Kind kind, double v) {
  switch (kind) {
    case Kind::kBytes:
      return FormatByteSize(static_cast<uint64_t>(v));
    case Kind::kDuration:
      return absl::FormatDuration(absl::Seconds(v));
    default:  // whole numbers in full (10000000, not 1e+07)
      return v == std::floor(v) && std::fabs(v) < 1e15
                 ? absl::StrCat(static_cast<int64_t>(v))
                 : absl::StrCat(v);
  }
}

}  // namespace

std::string DescribeValues(const Info& info) {
  const Values& v = info.values;
  if (!v.choices.empty()) {
    return absl::StrReplaceAll(v.choices, {{"|", ", "}});
  }
  const bool low = v.min != -kNoLimit, high = v.max != kNoLimit;
  if (!low && !high) return "";
  std::string range;
  if (low && high) {
    range = absl::StrCat(Bound(info.kind, v.min), "..", Bound(info.kind, v.max));
  } else if (low) {
    range = absl::StrCat("≥ ", Bound(info.kind, v.min));
  } else {
    range = absl::StrCat("≤ ", Bound(info.kind, v.max));
  }
  if (info.kind == Kind::kSeconds) absl::StrAppend(&range, " s");
  if (!v.zero_ok) return range;
  return absl::StrCat(info.kind == Kind::kBytes ? "empty" : "0", ", or ", range);
}

absl::Status CheckValue(const Info& info, double value) {
  const Values& v = info.values;
  if (value == 0 && v.zero_ok) return absl::OkStatus();
  if (value >= v.min && value <= v.max) return absl::OkStatus();
  std::string shown;
  switch (info.kind) {
    case Kind::kBytes: shown = FormatByteSize(static_cast<uint64_t>(value)); break;
    case Kind::kDuration: shown = absl::FormatDuration(absl::Seconds(value)); break;
    default: shown = Bound(info.kind, value);
  }
  if (info.kind == Kind::kBytes && value == 0) shown = "empty";
  return absl::InvalidArgumentError(absl::StrCat(
      "--", info.name, " must be ", DescribeValues(info), ", not ", shown,
      v.why.empty() ? "" : absl::StrCat(" (", v.why, ")")));
}

absl::Status CheckChoice(const Info& info, absl::string_view value) {
  if (info.values.choices.empty()) return absl::OkStatus();
  for (absl::string_view c : absl::StrSplit(info.values.choices, '|')) {
    if (c == value) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--", info.name, " must be one of ", DescribeValues(info), ", not '",
      value, "'"));
}

namespace {

std::string Dashed(absl::string_view name) {
  return absl::StrReplaceAll(std::string(name), {{"_", "-"}});
}

std::string DefaultText(const Info& info) {
  const absl::CommandLineFlag* flag =
      absl::FindCommandLineFlag(std::string(info.name));
  const std::string d = flag == nullptr ? "?" : flag->DefaultValue();
  return d.empty() ? "(none)" : d;
}

std::string ReloadText(const Info& info) {
  return info.reload == Reload::kLive ? "live" : "restart";
}

// Prose for roff: backslashes, dashes that read as option or minus signs,
// a leading control character, and non-ASCII characters as \[uXXXX] (so
// groff needs no input encoding; UTF-8 decoded by hand).
std::string Roff(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
      uint32_t cp = c & (0x3F >> extra);
      for (int k = 0; k < extra && i + 1 < text.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F);
      }
      out += absl::StrFormat("\\[u%04X]", cp);
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

}  // namespace

std::string SettingsMarkdown(std::span<const Info> settings) {
  std::string out =
      "| setting | default | values | on SIGHUP | meaning |\n"
      "|---|---|---|---|---|\n";
  for (const Info& s : settings) {
    const std::string values = DescribeValues(s);
    absl::StrAppend(&out, "| `--", Dashed(s.name), "` | `", DefaultText(s), "` | ",
                    values.empty() ? "" : absl::StrCat("`", values, "`"), " | ",
                    ReloadText(s), " | ",
                    absl::StrReplaceAll(s.help, {{"|", "\\|"}}), " |\n");
  }
  return out;
}

std::string SettingsRoff(std::span<const Info> settings) {
  std::string out;
  for (const Info& s : settings) {
    const std::string values = DescribeValues(s);
    // Names as --help writes them (underscores), like the other flags.
    absl::StrAppend(&out, ".TP\n.B \\-\\-", Roff(s.name), "\n", Roff(s.help),
                    "\n.br\nDefault: ", Roff(DefaultText(s)), ".",
                    values.empty() ? "" : absl::StrCat(" Values: ", Roff(values), "."),
                    s.reload == Reload::kLive ? " Changes live on SIGHUP."
                                              : " A change needs a restart.",
                    "\n");
  }
  return out;
}

}  // namespace ringtrack::setting
