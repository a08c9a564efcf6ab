// The HTTP side's sockets and admission: TCP listeners (one SO_REUSEPORT
// socket per worker per address, so the kernel spreads connections over
// the workers as it spreads datagrams), and the connection caps all
// workers share, in total and per source.
//
// A source is an IPv4 address or an IPv6 /64, as for the swarm table's
// caps. Per-source counts live in a fixed array of counters indexed by a
// keyed hash of the source: bounded memory whatever the number of
// sources. Two sources sharing a counter share its cap; with 65 536
// counters and the cap at its default that needs hundreds of busy sources
// colliding, and costs only a refused connection, which clients retry.
//
// Thread safety: TryAdmit() and Leave() from any worker; each count is an
// atomic updated with relaxed read-modify-writes (a count guards nothing
// but itself). Limits are changed live by SetLimits() (relaxed: the next
// connection sees the new value).
#ifndef RINGTRACK_DAEMON_HTTP_LISTENER_H_
#define RINGTRACK_DAEMON_HTTP_LISTENER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/base/types.h"
#include "daemon/net.h"

namespace ringtrack {

// Pending connections the kernel queues per listener (SOMAXCONN's usual
// ceiling): a burst of new connections waits in the kernel, not refused.
inline constexpr int kHttpListenBacklog = 4096;

// A non-blocking TCP listener bound to `addr` (SO_REUSEPORT when
// options.reuse_port; IPv6 sockets are V6ONLY), listening. Fails with
// kAlreadyExists if the address is in use.
absl::StatusOr<UniqueFd> OpenTcpListener(const ListenAddress& addr,
                                         const SocketOptions& options);

class HttpAdmission {
 public:
  static constexpr size_t kSourceCounters = 65536;  // 256 KiB
  HttpAdmission(uint32_t max_total, uint32_t max_per_source);

  enum class Verdict : uint8_t { kAdmitted, kTotalCap, kSourceCap };
  // Counts a new connection from `source`, or refuses it (counting
  // nothing) when the total or the source's count is at its cap.
  Verdict TryAdmit(const PeerEndpoint& source);
  // Uncounts a connection TryAdmit() admitted.
  void Leave(const PeerEndpoint& source);

  void SetLimits(uint32_t max_total, uint32_t max_per_source) {
    max_total_.store(max_total, std::memory_order_relaxed);
    max_per_source_.store(max_per_source, std::memory_order_relaxed);
  }
  uint32_t open() const { return total_.load(std::memory_order_relaxed); }
  uint32_t max_total() const {
    return max_total_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t>& CounterOf(const PeerEndpoint& source);

  std::atomic<uint32_t> max_total_;
  std::atomic<uint32_t> max_per_source_;
  std::atomic<uint32_t> total_{0};
  const uint64_t seed_;
  std::unique_ptr<std::atomic<uint32_t>[]> per_source_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_LISTENER_H_
