// XdpProgram: the thin loader for bpf/tracker.bpf.c. It owns the libbpf
// skeleton (open → set read-only config → load; destroyed with the object),
// one bpf_link per interface it attached to, and the map updates the daemon
// makes: served destinations, connection-ID keys at every rotation, and
// the clock offset that turns bpf_ktime_get_ns() into Unix time.
//
// Attachment is through a bpf_link, never by netlink: the program goes away
// when the link's fd is closed, which the kernel does when the process dies
// in any way, SIGKILL and the OOM killer included; and no privilege is
// needed to detach. Attach() refuses an interface that already has an XDP
// program, naming it, rather than replacing an operator's filter. Every
// later map update goes through fds the object already holds, so it keeps
// working after the daemon drops its privileges.
//
// Thread safety: UpdateKeys(), SyncClock() and Counters() may be called
// from the housekeeping thread, SetRateLimit() and SetAccessList() from
// the main thread, while packets flow; the maps and the .bss clock and
// rate are updated with single writes the program reads independently.
#ifndef RINGTRACK_BPF_XDP_LOADER_H_
#define RINGTRACK_BPF_XDP_LOADER_H_

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bpf/tracker_shared.h"
#include "core/tracker/access_list.h"
#include "core/udp/connection_id.h"

struct tracker;  // the generated skeleton

namespace ringtrack {

enum class XdpMode { kAuto, kNative, kGeneric };

struct XdpOptions {
  bool connect_in_kernel = true;
  // Per IPv4 address or IPv6 /64; 0: off. At most RT_XDP_MAX_RATE_PPS.
  uint32_t rate_limit_pps = 0;
  uint32_t rate_burst = 0;  // 0: one second's worth; ≤ RT_XDP_MAX_RATE_BURST
  // Most info hashes the access list mirror holds (0: no mirror). The
  // kernel allocates entries as they are added; only its bucket array
  // (16 bytes per entry of capacity, rounded up to a power of two, in
  // each of two maps) is reserved up front.
  uint32_t access_capacity = 0;
  // AF_XDP experiment: redirect served datagrams to XSK sockets.
  bool xsk_redirect = false;
};

// A destination the program serves: an address (IPv4 as ::ffff:a.b.c.d,
// network order) and a UDP port (host order).
struct XdpDest {
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;
  friend bool operator==(const XdpDest&, const XdpDest&) = default;
  friend auto operator<=>(const XdpDest&, const XdpDest&) = default;
};

// Counter names (rt_xdp_counter order), from RT_XDP_COUNTERS.
std::string_view XdpCounterName(int counter);

// Where libbpf's messages go, one line per call (the verifier's log among
// them: ~80 lines when it refuses the program). Default: nowhere. Not
// thread-safe: set it once at start, before the first Load().
void SetLibbpfLogSink(void (*sink)(std::string_view line));

class XdpProgram {
 public:
  // Loads the program (needs CAP_BPF and CAP_PERFMON, or root). Attaches
  // nowhere yet. A refusal (kPermissionDenied) ends with the verifier's
  // reason when it gave one.
  // Refuses (kInvalidArgument) rates the limiter's arithmetic cannot hold.
  static absl::StatusOr<std::unique_ptr<XdpProgram>> Load(
      const XdpOptions& options);
  ~XdpProgram();
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  // Attaches to `ifname` through a bpf_link (native where the driver has it,
  // for kAuto) and records the interface's MAC. Fails with
  // kFailedPrecondition, naming the program, if one is already attached.
  // Returns the mode it attached in.
  absl::StatusOr<XdpMode> Attach(const std::string& ifname, XdpMode mode);

  // Makes `dests` the set of (address, port) the program serves: entries
  // not in it are removed, new ones added. Returns whether anything changed.
  absl::StatusOr<bool> SetDestinations(std::vector<XdpDest> dests);
  // For tests: records `mac` as the own MAC of interface `ifindex`.
  absl::Status SetInterfaceMac(int ifindex, const std::array<uint8_t, 6>& mac);

  // Copies the keys of the epochs around `now` into the key map.
  absl::Status UpdateKeys(const ConnectionIds& ids, uint32_t now);
  // Re-reads CLOCK_REALTIME − CLOCK_MONOTONIC into the program.
  void SyncClock();
  // For tests: makes the program's clock read `unix_seconds` now.
  void SetClockForTest(uint32_t unix_seconds);
  // For tests: forgets every source the rate limiter has seen.
  void ClearRateLimiterForTest();

  // Changes the per-source rate limit for the packets that follow (0 pps:
  // off; burst 0: one second's worth). Refuses what Load() refuses.
  absl::Status SetRateLimit(uint32_t pps, uint32_t burst);

  // Makes the program enforce `list` (nullptr: no list) for announces and
  // scrapes from proven sources. The new list is written to a spare map,
  // which then replaces the one in force in one update, so packets see the
  // old list or the new one, never a mix. A list larger than the capacity
  // fails with kResourceExhausted, and the program then enforces no list
  // (userspace still does).
  absl::Status SetAccessList(const AccessList* list);
  // The XSKMAP (queue → AF_XDP socket) for --io xdp.
  int xsks_map_fd() const;

  // Info hashes in the mirror in force (0: none).
  size_t access_list_size() const { return access_size_; }

  // Interfaces the kernel still has this program attached to (a link can
  // be detached from outside, e.g. by `ip link set dev X xdp off`).
  int AttachedInterfaces() const;

  // Per-counter sums over all CPUs.
  std::array<uint64_t, RT_XDP_COUNTER_MAX> Counters() const;

  // Runs the program once over `frame` as if received on `ifindex`
  // (BPF_PROG_TEST_RUN, no traffic); returns the XDP verdict and the frame
  // as the program left it.
  absl::StatusOr<int> TestRun(std::span<const uint8_t> frame,
                              std::vector<uint8_t>* out, int ifindex = 1) const;

 private:
  XdpProgram() = default;
  tracker* skel_ = nullptr;
  std::vector<int> link_fds_;      // one bpf_link per interface
  std::vector<XdpDest> dests_;     // what rt_dests holds, sorted
  // The two access list maps (-1: no mirror); acl_[active_] is in force
  // when access_size_ > 0 or a list is set.
  int acl_[2] = {-1, -1};
  int active_ = 0;
  uint32_t access_capacity_ = 0;
  size_t access_size_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_BPF_XDP_LOADER_H_
