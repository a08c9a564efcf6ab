#include "daemon/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>


namespace ringtrack::log {
namespace {

// sd-daemon(3)'s priorities (syslog's numbers).
std::string_view Prefix(Level level) {
  switch (level) {
    case Level::kDebug:
      return "<7>";
    case Level::kInfo:
      return "<6>";
    case Level::kWarning:
      return "<4>";
    case Level::kError:
      return "<3>";
  }
  return "";
}

std::string_view Tag(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarning:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "";
}

// systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connects; a
// child whose stderr was redirected elsewhere inherits the variable, which
// is why the numbers are compared with stderr's own.
bool DetectJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  char end = 0;
  if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2) return false;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

void Emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

bool StderrIsJournal() {
  static const bool journal = DetectJournal();  // stderr is never replaced
  return journal;
}

void Write(Level level, std::string_view message) {
  const bool journal = StderrIsJournal();
  if (level == Level::kDebug && !journal) return;
  Emit(absl::StrFormat("%sringtrackd[%d] %s %s\n", journal ? Prefix(level) : "",
                       getpid(), Tag(level), message));
}

void WriteFatal(std::string_view message) {
  Emit(absl::StrFormat("%sringtrackd: %s\n",
                       StderrIsJournal() ? Prefix(Level::kError) : "", message));
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr std::string_view kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB",
                                                "PiB"};
  int unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit + 1 < static_cast<int>(std::size(kUnits))) {
    value /= 1024;
    ++unit;
  }
  // Whole numbers print bare ("64 MiB"); others with one decimal.
  if (unit == 0 || value == static_cast<double>(static_cast<uint64_t>(value))) {
    return absl::StrFormat("%d %s", static_cast<uint64_t>(value), kUnits[unit]);
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

}  // namespace ringtrack::log
