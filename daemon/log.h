// Leveled logging to stderr (journald captures it), one line per call:
//   ringtrackd[pid] LEVEL message
// Debian 12's abseil has no absl/log, and this daemon logs a handful of
// lines (start, periodic stats, errors) and nothing per packet, so a thin
// wrapper over absl::StrFormat is all it needs.
#ifndef RINGTRACK_DAEMON_LOG_H_
#define RINGTRACK_DAEMON_LOG_H_

#include <string_view>

#include "absl/strings/str_format.h"

namespace ringtrack::log {

enum class Level { kInfo, kWarning, kError };

void Write(Level level, std::string_view message);

template <typename... Args>
void Info(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  Write(Level::kInfo, absl::StrFormat(fmt, args...));
}
template <typename... Args>
void Warning(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  Write(Level::kWarning, absl::StrFormat(fmt, args...));
}
template <typename... Args>
void Error(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  Write(Level::kError, absl::StrFormat(fmt, args...));
}

}  // namespace ringtrack::log

#endif  // RINGTRACK_DAEMON_LOG_H_
