// Command-line plumbing shared by ringtrackd, ringtrack-cli and
// ringtrack-load. The flags themselves stay in each binary's main.cc.
#ifndef RINGTRACK_CORE_COMMAND_LINE_H_
#define RINGTRACK_CORE_COMMAND_LINE_H_

#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ringtrack {

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

// Parses a byte count: digits with an optional binary suffix K, M, G or T
// (also KiB/MiB/..., case-insensitive; "512M" = 512 × 2^20). Refuses zero,
// fractions, unknown suffixes and values beyond 2^62.
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_COMMAND_LINE_H_
