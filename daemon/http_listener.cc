#include "daemon/http_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <random>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace ringtrack {
namespace {

absl::Status Errno(const char* what, const ListenAddress& a) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", a.text, " (tcp)"));
}

}  // namespace

absl::StatusOr<UniqueFd> OpenTcpListener(const ListenAddress& a,
                                         const SocketOptions& options) {
  UniqueFd fd(socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Errno("socket for", a);
  const int one = 1;
  if (a.family() == AF_INET6 &&
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) {
    return Errno("IPV6_V6ONLY on", a);
  }
  // A restarted daemon binds at once while the old connections sit in
  // TIME_WAIT.
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
    return Errno("SO_REUSEADDR on", a);
  }
  if (options.reuse_port &&
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
    return Errno("SO_REUSEPORT on", a);
  }
  // Replies are whole; send each at once rather than waiting for an ACK.
  if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
    return Errno("TCP_NODELAY on", a);
  }
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
    if (errno == EADDRINUSE) {
      return absl::AlreadyExistsError(
          absl::StrCat("address ", a.text, " (tcp) is already in use"));
    }
    return Errno("bind", a);
  }
  if (listen(fd.get(), kHttpListenBacklog) != 0) return Errno("listen on", a);
  return fd;
}

HttpAdmission::HttpAdmission(uint32_t max_total, uint32_t max_per_source)
    : max_total_(max_total),
      max_per_source_(max_per_source),
      seed_(std::random_device{}() | (uint64_t{std::random_device{}()} << 32)),
      per_source_(new std::atomic<uint32_t>[kSourceCounters]) {
  for (size_t i = 0; i < kSourceCounters; ++i) per_source_[i] = 0;
}

std::atomic<uint32_t>& HttpAdmission::CounterOf(const PeerEndpoint& s) {
  // An IPv4 address, or an IPv6 address's /64.
  const size_t bytes = s.family == AddressFamily::kV4 ? 4 : 8;
  uint64_t key = 0;
  std::memcpy(&key, s.ip.data(), bytes);
  const size_t h = absl::HashOf(seed_, key, s.family == AddressFamily::kV4);
  return per_source_[h & (kSourceCounters - 1)];
}

HttpAdmission::Verdict HttpAdmission::TryAdmit(const PeerEndpoint& source) {
  const uint32_t cap_total = max_total_.load(std::memory_order_relaxed);
  if (total_.fetch_add(1, std::memory_order_relaxed) >= cap_total) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kTotalCap;
  }
  std::atomic<uint32_t>& c = CounterOf(source);
  if (c.fetch_add(1, std::memory_order_relaxed) >=
      max_per_source_.load(std::memory_order_relaxed)) {
    c.fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kSourceCap;
  }
  return Verdict::kAdmitted;
}

void HttpAdmission::Leave(const PeerEndpoint& source) {
  CounterOf(source).fetch_sub(1, std::memory_order_relaxed);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ringtrack
