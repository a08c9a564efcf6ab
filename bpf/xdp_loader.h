// XdpProgram: the thin loader for bpf/tracker.bpf.c. It owns the libbpf
// skeleton (open → set read-only config → load; destroyed with the object),
// the interfaces it attached to (detached in the destructor), and the map
// updates the daemon makes: served ports, connection-ID keys at every
// rotation, and the clock offset that turns bpf_ktime_get_ns() into Unix
// time.
//
// Thread safety: UpdateKeys(), SyncClock() and Counters() may be called
// from the housekeeping thread while packets flow; the maps and the .bss
// clock are updated with single writes the program reads independently.
#ifndef RINGTRACK_BPF_XDP_LOADER_H_
#define RINGTRACK_BPF_XDP_LOADER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bpf/tracker_shared.h"
#include "core/connection_id.h"

struct tracker;  // the generated skeleton

namespace ringtrack {

enum class XdpMode { kAuto, kNative, kGeneric };

struct XdpOptions {
  bool connect_in_kernel = true;
  uint32_t rate_limit_pps = 0;  // 0: off
  uint32_t rate_burst = 0;      // 0: one second's worth
  std::vector<uint16_t> ports;  // UDP ports to serve, host order
};

// Counter names, indexed by enum rt_xdp_counter.
std::string_view XdpCounterName(int counter);

class XdpProgram {
 public:
  // Loads the program (needs CAP_BPF or root). Attaches nowhere yet.
  static absl::StatusOr<std::unique_ptr<XdpProgram>> Load(
      const XdpOptions& options);
  ~XdpProgram();
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  // Attaches to `ifname` (native where the driver has it, for kAuto).
  // Returns the mode it attached in.
  absl::StatusOr<XdpMode> Attach(const std::string& ifname, XdpMode mode);

  // Copies the keys of the epochs around `now` into the key map.
  absl::Status UpdateKeys(const ConnectionIds& ids, uint32_t now);
  // Re-reads CLOCK_REALTIME − CLOCK_MONOTONIC into the program.
  void SyncClock();
  // For tests: makes the program's clock read `unix_seconds` now.
  void SetClockForTest(uint32_t unix_seconds);

  // Per-counter sums over all CPUs.
  std::array<uint64_t, RT_XDP_COUNTER_MAX> Counters() const;

  // Runs the program once over `frame` without any interface
  // (BPF_PROG_TEST_RUN); returns the XDP verdict and the frame as the
  // program left it.
  absl::StatusOr<int> TestRun(std::span<const uint8_t> frame,
                              std::vector<uint8_t>* out) const;

 private:
  XdpProgram() = default;
  struct Attachment {
    int ifindex;
    uint32_t flags;
    std::string name;
  };
  tracker* skel_ = nullptr;
  std::vector<Attachment> attached_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_BPF_XDP_LOADER_H_
