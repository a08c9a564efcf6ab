#include "daemon/log.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace ringtrack::log {

void Write(Level level, std::string_view message) {
  const char* tag = level == Level::kInfo      ? "INFO"
                    : level == Level::kWarning ? "WARN"
                                               : "ERROR";
  // One fwrite per line so lines from several threads do not interleave.
  const std::string line =
      absl::StrFormat("ringtrackd[%d] %s %s\n", getpid(), tag, message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ringtrack::log
