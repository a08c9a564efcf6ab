// Sockets for ringtrackd: an owning fd, listen-address parsing, and the
// conversion between kernel socket addresses and core's PeerEndpoint.
#ifndef RINGTRACK_DAEMON_NET_H_
#define RINGTRACK_DAEMON_NET_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "core/base/types.h"

namespace ringtrack {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Gives up ownership (the caller closes it).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as given, for messages
  int family() const { return addr.ss_family; }
  uint16_t port() const;
};

// Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses). Port 0
// picks a free port (tests). Hostnames are not resolved.
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

struct SocketOptions {
  bool reuse_port = true;
  int buffer_bytes = 8 << 20;  // SO_RCVBUF/SO_SNDBUF target
};

// A UDP socket bound to `addr` (IPv6 sockets are V6ONLY; wildcard sockets
// report destinations for the reply's source). Fails with
// kAlreadyExists if the address is in use by any other socket.
absl::StatusOr<UniqueFd> OpenUdpSocket(const ListenAddress& addr,
                                       const SocketOptions& options);
// True for 0.0.0.0 and ::, whose sockets report each datagram's destination
// (see daemon/pktinfo.h).
bool IsWildcard(const ListenAddress& a);
// The address a socket is bound to (resolves port 0).
absl::StatusOr<ListenAddress> BoundAddress(int fd);

// Datagrams the kernel dropped at socket `fd` because its receive queue
// was full (SO_MEMINFO's SK_MEMINFO_DROPS: the "drops" column of
// /proc/net/udp). One getsockopt, no per-datagram cost. The kernel counts
// in 32 bits: a caller following it takes differences modulo 2^32.
absl::StatusOr<uint32_t> SocketDrops(int fd);

// Converts a received source address. Returns false for other families.
bool ToEndpoint(const sockaddr* sa, socklen_t len, PeerEndpoint* out);

std::string FormatAddress(const sockaddr_storage& addr);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_NET_H_
