// Command-line plumbing shared by ringtrackd, ringtrack-cli and
// ringtrack-load. The flags themselves stay in each binary's main.cc.
#ifndef RINGTRACK_CORE_CLI_COMMAND_LINE_H_
#define RINGTRACK_CORE_CLI_COMMAND_LINE_H_

#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringtrack {

// The exit codes ringtrackd, ringtrack-cli and ringtrack-load share (README
// states them in each program's section).
inline constexpr int kExitOk = 0;              // also after --help, --version
inline constexpr int kExitRuntimeFailure = 1;  // the run itself failed
inline constexpr int kExitBadUsage = 2;        // a bad flag, value or argument

// Rewrites argv for absl::ParseCommandLine: flag names may be written with
// dashes (--peer-timeout) as well as underscores, and every occurrence of a
// flag named in `repeatable` (as --name=V or --name V) is merged into one
// comma-separated value, since absl keeps only the last. The returned
// pointers point into *storage (a deque, so they stay valid as it grows)
// or into argv.
std::vector<char*> NormalizeFlags(
    int argc, char** argv, std::initializer_list<std::string_view> repeatable,
    std::deque<std::string>* storage);

// Makes --help list the flags defined in the source file whose path ends
// with `main_file` (absl would look for a file named after the program),
// and --version print "<program> <version>".
void HelpShowsFlagsFrom(std::string_view main_file,
                        std::string_view version = "");

// Parses `args` (as NormalizeFlags returns them) with absl's flag parser
// and returns the positional arguments, program name first. Holds every
// program to the exit codes above: after --help, --helpfull, --version and
// the like it exits kExitOk; on an unknown flag or a value that does not
// parse it exits kExitBadUsage after absl's message (absl itself would exit
// 1 for both). `args` itself is left as it is (absl's parser takes a
// mutable argv). REQUIRES: called from main before any thread starts.
std::vector<char*> ParseCommandLineOrExit(std::vector<char*>& args);

// Parses a byte count: a number (fractions allowed: "1.5G") with an
// optional binary suffix K, M, G or T (also KiB/MiB/..., case-insensitive;
// "512M" = 512 × 2^20), rounded down to whole bytes. Refuses zero, unknown
// suffixes and values beyond 2^62. ringtrackd takes every size this way,
// on the command line and in its config file.
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

// The shortest exact text ParseByteSize() reads back as `bytes`: "8M" for
// 8 × 2^20, "1536K" for 1.5 MiB, "4097" for 4097.
std::string FormatByteSize(uint64_t bytes);

// Parses a duration with a unit, as absl::ParseDuration does ("30s", "5m",
// "1h30m", "250ms"); "0" alone needs none. A bare number other than 0 is
// refused with the unit to add ("add a unit: 30s"), since a bare 30 could
// mean seconds or minutes. Negative durations are refused.
absl::StatusOr<absl::Duration> ParseDurationWithUnit(std::string_view text);

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_CLI_COMMAND_LINE_H_
