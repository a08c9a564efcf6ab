#include "daemon/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/net.h"

namespace ringtrack::systemd {

bool Notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr) return false;
  const size_t len = std::strlen(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // A path, or '@' for the abstract namespace (a leading NUL on the wire).
  if (len < 2 || (path[0] != '/' && path[0] != '@') ||
      len > sizeof(addr.sun_path)) {
    return false;
  }
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  // An abstract name's length is exact; a path may carry its NUL.
  const socklen_t addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  const ssize_t n =
      sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&addr), addr_len);
  return n == static_cast<ssize_t>(state.size());
}

bool NotifyReloading() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1'000'000 +
                        static_cast<uint64_t>(now.tv_nsec) / 1000;
  return Notify(absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", usec));
}

absl::Duration WatchdogTimeout() {
  const char* usec_text = std::getenv("WATCHDOG_USEC");
  uint64_t usec = 0;
  if (usec_text == nullptr || !absl::SimpleAtoi(usec_text, &usec) || usec == 0) {
    return absl::ZeroDuration();
  }
  if (const char* pid_text = std::getenv("WATCHDOG_PID"); pid_text != nullptr) {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(pid_text, &pid) || pid != getpid()) {
      return absl::ZeroDuration();
    }
  }
  return absl::Microseconds(usec);
}

}  // namespace ringtrack::systemd
