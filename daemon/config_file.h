// The TOML configuration file (--config): every ringtrackd setting (a row
// of daemon/settings.h) is a key of the same name (dashes or underscores),
// e.g. `interval = 900` or `listen = ["0.0.0.0:6969", "[::]:6969"]`. A
// setting given on the command line wins over the file. Parsed with toml++.
//
// The file sets the flags themselves (through absl's flag reflection), so
// one validation path (ringtrackd's ConfigFromFlags) serves the command
// line, the file and a reload alike. A value must have its row's type
// (settings.h): a string where an integer belongs is refused, not read.
#ifndef RINGTRACK_DAEMON_CONFIG_FILE_H_
#define RINGTRACK_DAEMON_CONFIG_FILE_H_

#include <map>
#include <set>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "daemon/settings.h"

namespace ringtrack {

// Resets every setting not given on the command line (`on_command_line`)
// to its default, then sets the keys of the TOML file at `path`. Errors
// (a file that cannot be read, syntax, an unknown key, a value of the wrong
// type or one the flag refuses) name the file, the line and the key; a
// file that cannot be read names errno's text and the user reading it. On
// error the settings may be partly set, so the caller rejects the whole
// configuration. `overridden` receives, for each key of the file that the
// command line also sets, "KEY from FILE:LINE overridden by the command
// line".
absl::Status ApplyConfigFile(const std::string& path,
                             std::span<const setting::Info> settings,
                             const std::set<std::string>& on_command_line,
                             std::vector<std::string>* overridden);

// "FILE:LINE" where the last ApplyConfigFile() set `flag`, or "".
std::string ConfigOrigin(std::string_view flag);

// The current value of every setting, as name → TOML value text.
std::map<std::string, std::string> EffectiveFlags(
    std::span<const setting::Info> settings);

// The settings' values as absl prints them (name → text), and a way to put
// them back (after a reload that failed half-way).
std::map<std::string, std::string> SaveFlags(std::span<const setting::Info> settings);
void RestoreFlags(const std::map<std::string, std::string>& saved);

// EffectiveFlags() as a TOML document, one `key = value` line each, in the
// table's order.
std::string EffectiveConfigToml(std::span<const setting::Info> settings);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_CONFIG_FILE_H_
