// The TOML configuration file (--config): every ringtrackd flag is a key of
// the same name (dashes or underscores), e.g. `interval = 900` or
// `listen = ["0.0.0.0:6969", "[::]:6969"]`. A flag given on the command
// line wins over the file. Parsed with toml++.
//
// The file sets the flags themselves (through absl's flag reflection), so
// one validation path (ringtrackd's ConfigFromFlags) serves the command
// line, the file and a reload alike.
#ifndef RINGTRACK_DAEMON_CONFIG_FILE_H_
#define RINGTRACK_DAEMON_CONFIG_FILE_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ringtrack {

// Resets every flag defined in `main_file` that was not given on the command
// line (`on_command_line`) to its default, then sets the keys of the TOML file at `path`.
// `not_keys` are flags that may not appear in a file (--config itself).
// Errors (syntax, an unknown key, a value the flag refuses) name the file,
// line and key; the flags may then be partly set, so the caller rejects the
// whole configuration.
// `on_command_line` names the flags given on the command line.
absl::Status ApplyConfigFile(const std::string& path, std::string_view main_file,
                             const std::set<std::string>& not_keys,
                             const std::set<std::string>& on_command_line);

// "FILE:LINE" where the last ApplyConfigFile() set `flag`, or "".
std::string ConfigOrigin(std::string_view flag);

// The current value of every flag of `main_file` (except `not_keys`), as
// name → TOML value text.
std::map<std::string, std::string> EffectiveFlags(
    std::string_view main_file, const std::set<std::string>& not_keys);

// The flags' values as absl prints them (name → text), and a way to put
// them back (after a reload that failed half-way).
std::map<std::string, std::string> SaveFlags(std::string_view main_file,
                                             const std::set<std::string>& not_keys);
void RestoreFlags(const std::map<std::string, std::string>& saved);

// EffectiveFlags() as a TOML document, one `key = value` line each.
std::string EffectiveConfigToml(std::string_view main_file,
                                const std::set<std::string>& not_keys);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_CONFIG_FILE_H_
