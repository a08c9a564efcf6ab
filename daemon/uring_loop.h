// The io_uring loop: one ring per worker, one multishot recvmsg per socket
// on a provided buffer ring, replies as sendmsg SQEs submitted once per
// batch of completions. Shaped after liburing's examples/io_uring-udp.c:
// all state lives in UringLoop, set up by Create() and torn down by the
// destructor; user_data is encoded and decoded in one place.
//
// A reply is written into a reply slot paired with the receive buffer it
// answers, and its msg_name points at the source address the kernel wrote
// into that buffer; the buffer returns to the ring when the send completes.
#ifndef RINGTRACK_DAEMON_URING_LOOP_H_
#define RINGTRACK_DAEMON_URING_LOOP_H_

#include <liburing.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/worker.h"

namespace ringtrack {

struct UringOptions {
  unsigned sq_entries = 256;
  unsigned cq_entries = 1024;
  unsigned buffers_per_socket = 256;  // power of two, ≤ 32768
};

// Returns OK iff a ring with the features the loop needs can be set up here
// (io_uring enabled, not blocked by seccomp, provided buffer rings).
absl::Status ProbeUring();

class UringLoop {
 public:
  // Sets up the ring on the calling thread, which must then call Run():
  // with IORING_SETUP_SINGLE_ISSUER only that thread may submit.
  static absl::StatusOr<std::unique_ptr<UringLoop>> Create(
      const std::vector<int>& fds, const UringOptions& options,
      WorkerCore* core);
  ~UringLoop();
  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;

  // Serves until core->stopping(); returns within ~200 ms of a stop.
  void Run();

 private:
  struct Socket;
  struct ReplySlot;
  UringLoop(const UringOptions& options, WorkerCore* core);

  absl::Status SetUpRing();
  // Sets up the buffer ring and reply slots of the next socket.
  absl::Status AddSocket();
  io_uring_sqe* GetSqe();
  void ArmRecv(size_t socket_index);
  void ProcessCqe(const io_uring_cqe* cqe);
  void ProcessRecv(size_t socket_index, const io_uring_cqe* cqe);
  void RecycleBuffer(Socket& s, uint16_t bid);
  void CancelAll();

  const UringOptions options_;
  WorkerCore* const core_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::vector<std::unique_ptr<Socket>> sockets_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_URING_LOOP_H_
