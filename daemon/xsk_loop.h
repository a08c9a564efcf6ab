// XskLoop: the AF_XDP worker behind --io xdp. The XDP program redirects
// the datagrams it would otherwise pass up to the UDP socket into an XSK
// socket bound to one queue of one interface; this loop parses
// Ethernet/IP/UDP in the UMEM frame, hands the payload to
// WorkerCore::Handle(), turns the same frame into the reply (MACs,
// addresses and ports swapped, lengths, TTL and checksums rewritten) and
// transmits it from the TX ring, skipping the kernel's UDP socket layer
// both ways.
//
// Frames: 4096 of 2 KiB (8 MiB of UMEM, populated at start). A frame goes
// fill ring → RX ring → (reply in place) TX ring → completion ring → fill
// ring; a frame that gets no reply goes straight back to the fill ring.
// Copy mode (XDP_COPY) works on every driver, veth and lo included; the
// TX ring is kicked with one sendto() per batch of up to 64 frames.
//
// Thread safety: Create() on any thread (before the privilege drop: an
// AF_XDP socket needs CAP_NET_RAW), then Run() on one worker thread.
#ifndef RINGTRACK_DAEMON_XSK_LOOP_H_
#define RINGTRACK_DAEMON_XSK_LOOP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/worker.h"

namespace ringtrack {

class XskLoop {
 public:
  // Binds an XSK socket to queue `queue` of `ifname` (copy mode) and
  // registers it in the XSKMAP `xsks_map_fd` (the program's rt_xsks), so
  // from then on that queue's served datagrams come here.
  static absl::StatusOr<std::unique_ptr<XskLoop>> Create(
      const std::string& ifname, uint32_t queue, int xsks_map_fd,
      WorkerCore* core);
  ~XskLoop();
  XskLoop(const XskLoop&) = delete;
  XskLoop& operator=(const XskLoop&) = delete;

  // Serves until core->stopping().
  void Run();

  // Frames the kernel dropped before this loop saw them: the RX ring was
  // full, or the fill ring had no frame for them (XDP_STATISTICS'
  // rx_ring_full + rx_dropped: the AF_XDP socket's receive-queue drops).
  // Thread-safe (one getsockopt); 0 if the kernel will not say.
  uint64_t KernelDrops() const;

 private:
  struct State;
  explicit XskLoop(WorkerCore* core);
  WorkerCore* const core_;
  std::unique_ptr<State> st_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_XSK_LOOP_H_
