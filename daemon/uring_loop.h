// The io_uring loop: one ring per worker, one multishot recvmsg per socket
// on a provided buffer ring; the replies to one batch of completions leave
// with one sendmmsg per socket (core/io/batch_io.h), so a datagram costs one
// receive completion and a share of one syscall, and no send SQE or CQE.
// Shaped after liburing's examples/io_uring-udp.c: all state lives in
// UringLoop, set up by Create() and torn down by the destructor; user_data
// is encoded and decoded in one place.
//
// A reply's msg_name points at the source address the kernel wrote into
// the receive buffer it answers; that buffer returns to the ring once the
// batch has been sent (sendmmsg copies). On wildcard sockets the receive
// also carries the datagram's destination, which the reply's control
// message sends from (daemon/pktinfo.h). A full socket buffer drops the
// rest of a batch (counted); a re-arm that finds the SQ full waits for the
// next turn: the loop never spins on the kernel.
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
  // At least this many; Create() raises it to hold a completion for every
  // receive buffer of every socket, so the CQ can never overflow.
  unsigned cq_entries = 1024;
  unsigned buffers_per_socket = 64;  // power of two, 64..32768 (see README)
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
  UringLoop(const UringOptions& options, WorkerCore* core);

  absl::Status SetUpRing(size_t sockets);
  // Sets up the buffer ring and reply batch of the next socket, `fd`.
  absl::Status AddSocket(int fd);
  // Sends the replies batched for `s` and recycles their buffers.
  void FlushReplies(Socket& s);
  // An SQE, submitting once if the SQ is full; nullptr if it stays full.
  io_uring_sqe* GetSqe();
  void CountOverflow();
  void ArmRecv(size_t socket_index);
  void ProcessCqe(const io_uring_cqe* cqe);
  void ProcessRecv(size_t socket_index, const io_uring_cqe* cqe);
  // Answers the datagrams received since the last call, as one batch
  // (WorkerCore::HandleBatch), and queues their replies.
  void HandlePending();
  void RecycleBuffer(Socket& s, uint16_t bid);
  void CancelAll();

  UringOptions options_;  // cq_entries raised by SetUpRing()
  WorkerCore* const core_;
  io_uring ring_{};
  bool ring_ready_ = false;
  unsigned last_overflow_ = 0;  // the kernel's CQ overflow count, last seen
  std::vector<std::unique_ptr<Socket>> sockets_;
  // Datagrams received and not yet answered: their receive buffers, and
  // (index for index) what WorkerCore::HandleBatch() needs.
  struct Pending {
    size_t socket;
    uint16_t bid;
    io_uring_recvmsg_out* out;  // its control messages, in buffer `bid`
  };
  std::vector<Pending> pending_;
  std::vector<WorkerCore::Datagram> batch_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_URING_LOOP_H_
