// EXPERIMENT (issue 11): an AF_XDP worker loop. The XDP program redirects
// the datagrams it would pass up to the UDP socket into an XSK socket bound
// to one queue of one interface; this loop parses Ethernet/IP/UDP in the
// UMEM frame, hands the payload to WorkerCore::Handle(), turns the same
// frame into the reply (MACs, addresses and ports swapped, lengths and
// checksums rewritten) and transmits it from the TX ring.
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
  // registers it in the XSKMAP `xsks_map_fd`.
  static absl::StatusOr<std::unique_ptr<XskLoop>> Create(
      const std::string& ifname, uint32_t queue, int xsks_map_fd,
      WorkerCore* core);
  ~XskLoop();
  XskLoop(const XskLoop&) = delete;
  XskLoop& operator=(const XskLoop&) = delete;

  // Serves until core->stopping().
  void Run();

 private:
  struct State;
  explicit XskLoop(WorkerCore* core);
  WorkerCore* const core_;
  std::unique_ptr<State> st_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_XSK_LOOP_H_
