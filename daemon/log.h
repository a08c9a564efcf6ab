// Leveled logging to stderr, one line per call:
//   ringtrackd[pid] LEVEL message
// Debian 12's abseil has no absl/log, and this daemon logs a handful of
// lines (start, periodic stats, errors) and nothing per packet, so a thin
// wrapper over absl::StrFormat is all it needs.
//
// Under systemd, stderr is a stream to journald, which files every line as
// info unless the line starts with an sd-daemon(3) priority prefix. When
// $JOURNAL_STREAM names stderr's device and inode (so stderr really is that
// stream, not a file it was redirected to), every line starts with its
// priority: <3> error, <4> warning, <6> info, <7> debug; `journalctl -p
// warning` then finds the warnings and errors.
//
// Debug lines (libbpf's messages, the verifier's log among them) are written
// only to the journal, where `journalctl -p info` hides them; on a terminal
// or in a file they are dropped.
//
// Thread safety: every function may be called from any thread; each line is
// one fwrite, so lines from several threads do not interleave.
#ifndef RINGTRACK_DAEMON_LOG_H_
#define RINGTRACK_DAEMON_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace ringtrack::log {

enum class Level { kDebug, kInfo, kWarning, kError };

void Write(Level level, std::string_view message);

// A fatal error before or instead of serving (a bad flag, a failed start):
// written as "ringtrackd: message" (what a shell user expects from a
// command), with the error priority prefix under journald.
void WriteFatal(std::string_view message);

// True iff stderr is the journal stream named by $JOURNAL_STREAM.
bool StderrIsJournal();

template <typename... Args>
void Debug(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  Write(Level::kDebug, absl::StrFormat(fmt, args...));
}
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
template <typename... Args>
void Fatal(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  WriteFatal(absl::StrFormat(fmt, args...));
}

// Human units for a byte count: "64 MiB", "1.5 GiB", "512 B".
std::string HumanBytes(uint64_t bytes);

}  // namespace ringtrack::log

#endif  // RINGTRACK_DAEMON_LOG_H_
