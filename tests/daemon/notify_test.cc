// systemd::Notify and WatchdogTimeout against a datagram socket the test
// owns, with a path and with an abstract name, and the environment cases.
#include "daemon/notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ringtrack {
namespace {

// A bound AF_UNIX datagram socket; `name` starting with '@' is abstract.
int Listen(const std::string& name) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())),
            0)
      << std::strerror(errno);
  return fd;
}

std::string Receive(int fd) {
  char buf[256];
  const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(Notify, ReloadingCarriesTheMonotonicClock) {
  const std::string path = absl::StrCat("/tmp/rt_notify_reload_", getpid());
  unlink(path.c_str());
  const int fd = Listen(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  auto now_usec = [] {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000 +
           static_cast<uint64_t>(ts.tv_nsec) / 1000;
  };
  const uint64_t before = now_usec();
  EXPECT_TRUE(systemd::NotifyReloading());
  const uint64_t after = now_usec();
  const std::string m = Receive(fd);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(m.substr(0, prefix.size()), prefix) << m;
  const uint64_t usec = std::stoull(m.substr(prefix.size()));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
  close(fd);
  unlink(path.c_str());
  unsetenv("NOTIFY_SOCKET");
}

TEST(Notify, SendsToAPathSocket) {
  const std::string path = absl::StrCat("/tmp/rt_notify_test_", getpid());
  unlink(path.c_str());
  const int fd = Listen(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(systemd::Notify("READY=1\nSTATUS=serving"));
  EXPECT_EQ(Receive(fd), "READY=1\nSTATUS=serving");
  close(fd);
  unlink(path.c_str());
  unsetenv("NOTIFY_SOCKET");
}

TEST(Notify, SendsToAnAbstractSocket) {
  const std::string name = absl::StrCat("@rt_notify_test_", getpid());
  const int fd = Listen(name);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(systemd::Notify("WATCHDOG=1"));
  EXPECT_EQ(Receive(fd), "WATCHDOG=1");
  close(fd);
  unsetenv("NOTIFY_SOCKET");
}

TEST(Notify, WithoutAUsableSocketReturnsFalse) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(systemd::Notify("READY=1"));
  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  EXPECT_FALSE(systemd::Notify("READY=1"));
  setenv("NOTIFY_SOCKET", "/tmp/rt_notify_nobody_listens_here", 1);
  EXPECT_FALSE(systemd::Notify("READY=1"));
  unsetenv("NOTIFY_SOCKET");
}

TEST(Notify, WatchdogTimeoutFollowsTheEnvironment) {
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(systemd::WatchdogTimeout(), absl::ZeroDuration());
  setenv("WATCHDOG_USEC", "400000", 1);
  EXPECT_EQ(systemd::WatchdogTimeout(), absl::Milliseconds(400));
  setenv("WATCHDOG_PID", absl::StrCat(getpid()).c_str(), 1);
  EXPECT_EQ(systemd::WatchdogTimeout(), absl::Milliseconds(400));
  setenv("WATCHDOG_PID", absl::StrCat(getpid() + 1).c_str(), 1);
  EXPECT_EQ(systemd::WatchdogTimeout(), absl::ZeroDuration());  // not ours
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "soon", 1);
  EXPECT_EQ(systemd::WatchdogTimeout(), absl::ZeroDuration());
  unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace ringtrack
