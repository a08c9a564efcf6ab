#include "core/cli/command_line.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ringtrack {

std::vector<char*> NormalizeFlags(
    int argc, char** argv, std::initializer_list<std::string_view> repeatable,
    std::deque<std::string>* storage) {
  std::vector<char*> out;
  std::vector<std::vector<std::string>> merged(repeatable.size());
  for (int i = 0; i < argc; ++i) {
    if (i == 0 || argv[i][0] != '-' || argv[i][1] == '\0') {
      out.push_back(argv[i]);
      continue;
    }
    if (std::string_view(argv[i]) == "--") {  // the rest is positional
      for (; i < argc; ++i) out.push_back(argv[i]);
      break;
    }
    std::string arg = argv[i];
    const size_t start = arg.find_first_not_of('-');
    const size_t end = std::min(arg.find('='), arg.size());
    if (start != std::string::npos && start < end) {
      std::replace(arg.begin() + start, arg.begin() + end, '-', '_');
    }
    const std::string name =
        start == std::string::npos ? "" : arg.substr(start, end - start);
    bool taken = false;
    size_t k = 0;
    for (std::string_view r : repeatable) {
      if (name == r) {
        if (end < arg.size()) {
          merged[k].push_back(arg.substr(end + 1));
          taken = true;
        } else if (i + 1 < argc) {
          merged[k].push_back(argv[++i]);
          taken = true;
        }
      }
      ++k;
    }
    if (taken) continue;
    storage->push_back(std::move(arg));
    out.push_back(storage->back().data());
  }
  size_t k = 0;
  for (std::string_view r : repeatable) {
    if (!merged[k].empty()) {
      storage->push_back("--" + std::string(r) + "=" +
                         absl::StrJoin(merged[k], ","));
      out.insert(out.begin() + 1, storage->back().data());
    }
    ++k;
  }
  return out;
}

void HelpShowsFlagsFrom(std::string_view main_file, std::string_view version) {
  static std::string file;  // the callbacks below outlive this call
  static std::string version_line;
  file = std::string(main_file);
  version_line = std::string(version);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view f) {
    return absl::EndsWith(f, file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  if (!version_line.empty()) {
    usage.version_string = [] { return version_line + "\n"; };
  }
  absl::SetFlagsUsageConfig(usage);
}

// ParseCommandLineOrExit() below calls this abseil's internal parser, whose
// signature later abseils changed: say so at build time, not with a
// template error.
#if !defined(ABSL_LTS_RELEASE_VERSION) || ABSL_LTS_RELEASE_VERSION != 20220623
#error "ParseCommandLineOrExit() is written for abseil 20220623 (Debian 12); port it to absl::ParseAbseilFlagsOnly() for this abseil"
#endif

std::vector<char*> ParseCommandLineOrExit(std::vector<char*>& args) {
  namespace fi = absl::flags_internal;
  // This abseil (20220623) has no public parser that leaves the exit code
  // to the caller: a malformed flag ends in std::exit(1) inside it. While
  // it runs, an exit handler turns any exit into kExitBadUsage; usage flags
  // are handled afterwards, here, so that help is not a failure.
  static bool parsing = false;
  static const bool registered = [] {
    return std::atexit([] {
             if (!parsing) return;
             std::fflush(stdout);
             std::fflush(stderr);
             std::_Exit(kExitBadUsage);
           }) == 0;
  }();
  (void)registered;
  parsing = true;
  std::vector<char*> positional = fi::ParseCommandLineImpl(
      static_cast<int>(args.size()), args.data(),
      fi::ArgvListAction::kRemoveParsedArgs, fi::UsageFlagsAction::kIgnoreUsage,
      fi::OnUndefinedFlag::kAbortIfUndefined);
  parsing = false;
  // -1: no usage flag given; 0 or 1: one was handled (absl's 1 is "help
  // printed", which is what the user asked for).
  if (fi::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) >= 0) {
    std::cout.flush();
    std::exit(kExitOk);
  }
  return positional;
}

absl::StatusOr<uint64_t> ParseByteSize(std::string_view view) {
  const std::string text(view);  // this abseil's string_view is its own type
  size_t end = 0;
  while (end < text.size() && absl::ascii_isdigit(text[end])) ++end;
  const size_t digits = end;
  if (end < text.size() && text[end] == '.') {
    ++end;
    while (end < text.size() && absl::ascii_isdigit(text[end])) ++end;
  }
  double value = 0;
  if (digits == 0 || end > 24 || !absl::SimpleAtod(text.substr(0, end), &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a size like 4096, 512M or 1.5G"));
  }
  std::string suffix = absl::AsciiStrToUpper(text.substr(end));
  if (absl::EndsWith(suffix, "IB")) suffix.resize(suffix.size() - 2);
  if (suffix.size() == 2 && suffix[1] == 'B') suffix.resize(1);
  int shift = -1;
  if (suffix.empty() || suffix == "B") shift = 0;
  if (suffix == "K") shift = 10;
  if (suffix == "M") shift = 20;
  if (suffix == "G") shift = 30;
  if (suffix == "T") shift = 40;
  if (shift < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "': unknown size suffix (use K, M, G or T)"));
  }
  // A double holds every whole number of bytes up to 2^53 exactly, and
  // sizes beyond that are refused or rounded well below a byte's worth.
  const double bytes = std::ldexp(value, shift);
  if (!(bytes >= 1) || bytes > std::ldexp(1.0, 62)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is out of range (1 byte to 4096P)"));
  }
  return static_cast<uint64_t>(bytes);
}

std::string FormatByteSize(uint64_t bytes) {
  static constexpr std::pair<int, char> kUnits[] = {
      {40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& [shift, unit] : kUnits) {
    const uint64_t one = uint64_t{1} << shift;
    if (bytes != 0 && bytes % one == 0) return absl::StrCat(bytes / one, std::string(1, unit));
  }
  return absl::StrCat(bytes);
}

absl::StatusOr<absl::Duration> ParseDurationWithUnit(std::string_view view) {
  const std::string text(view);
  double bare = 0;
  if (absl::SimpleAtod(text, &bare) && !text.empty() &&
      text.find_first_not_of("0123456789.") == std::string::npos) {
    if (bare == 0) return absl::ZeroDuration();
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' has no unit: add a unit: ", text, "s (or ", text,
        "m, ", text, "ms; units: ms, s, m, h)"));
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a duration like 30s, 5m or 1h30m"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': a duration may not be negative"));
  }
  return d;
}

}  // namespace ringtrack
