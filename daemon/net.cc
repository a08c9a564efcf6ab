#include "daemon/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <string.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/pktinfo.h"

namespace ringtrack {

uint16_t ListenAddress::port() const {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text_in) {
  // Debian's abseil has its own string_view type; work on a std::string.
  const std::string text(text_in);
  ListenAddress out;
  out.text = std::string(text);
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", text, "' has no :PORT"));
  }
  const std::string host = text.substr(0, colon);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", text, "' has an invalid port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    const std::string h = host.substr(1, host.size() - 2);
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.addr);
    if (inet_pton(AF_INET6, h.c_str(), &sa->sin6_addr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", text, "': bad IPv6 address"));
    }
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  const std::string h = host.empty() ? "0.0.0.0" : host;
  auto* sa = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, h.c_str(), &sa->sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", text,
                     "': bad IPv4 address (write IPv6 as [ADDR]:PORT)"));
  }
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port));
  out.len = sizeof(sockaddr_in);
  return out;
}

namespace {

absl::Status Errno(const char* what, const ListenAddress& a) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", a.text));
}

void SetBuffer(int fd, int force_opt, int opt, int bytes) {
  // As root, *FORCE ignores rmem_max/wmem_max; otherwise the kernel caps at
  // them, which is the most an unprivileged process can have.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
  }
}

}  // namespace

absl::StatusOr<UniqueFd> OpenUdpSocket(const ListenAddress& a,
                                       const SocketOptions& options) {
  UniqueFd fd(socket(a.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Errno("socket for", a);
  const int one = 1;
  if (a.family() == AF_INET6 &&
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) {
    return Errno("IPV6_V6ONLY on", a);
  }
  if (options.reuse_port &&
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
    return Errno("SO_REUSEPORT on", a);
  }
  if (a.family() == AF_INET) {
    // IPv4 replies carry DF and are never fragmented here: they are at most
    // 1 248 bytes, and fragments are what middleboxes drop most. PROBE (not
    // DO) ignores learned path MTUs, so a forged ICMP "fragmentation needed"
    // cannot make sends fail. With DF the kernel writes IP ID 0 instead of
    // running its per-destination ID generator: ~10 % of a reply's CPU.
    const int probe = IP_PMTUDISC_PROBE;
    if (setsockopt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe))) {
      return Errno("IP_MTU_DISCOVER on", a);
    }
  }
  SetBuffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, options.buffer_bytes);
  SetBuffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, options.buffer_bytes);
  if (IsWildcard(a)) {
    // Replies must leave from the address each request came to.
    if (absl::Status s = EnableDestinationInfo(fd.get(), a.family()); !s.ok()) {
      return s;
    }
  }
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
    if (errno == EADDRINUSE) {
      return absl::AlreadyExistsError(
          absl::StrCat("address ", a.text, " is already in use"));
    }
    return Errno("bind", a);
  }
  return fd;
}

bool IsWildcard(const ListenAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.addr)->sin_addr.s_addr ==
           htonl(INADDR_ANY);
  }
  const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&a.addr)->sin6_addr;
  return IN6_IS_ADDR_UNSPECIFIED(&ip);
}

absl::StatusOr<ListenAddress> BoundAddress(int fd) {
  ListenAddress out;
  out.len = sizeof(out.addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&out.addr), &out.len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  out.text = FormatAddress(out.addr);
  return out;
}

absl::StatusOr<uint32_t> SocketDrops(int fd) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockopt(SO_MEMINFO)");
  }
  if (len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    return absl::UnimplementedError("SO_MEMINFO without a drop count");
  }
  return meminfo[SK_MEMINFO_DROPS];
}

bool ToEndpoint(const sockaddr* sa, socklen_t len, PeerEndpoint* out) {
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    out->family = AddressFamily::kV4;
    out->ip = {};
    std::memcpy(out->ip.data(), &in->sin_addr, 4);
    out->port = ntohs(in->sin_port);
    return true;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    out->family = AddressFamily::kV6;
    std::memcpy(out->ip.data(), &in6->sin6_addr, 16);
    out->port = ntohs(in6->sin6_port);
    return true;
  }
  return false;
}

std::string FormatAddress(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return absl::StrCat(buf, ":", ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
  return absl::StrCat("[", buf, "]:", ntohs(in6->sin6_port));
}

}  // namespace ringtrack
