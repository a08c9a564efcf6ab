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
#include "daemon/http_conn_table.h"
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
  // `http_listeners`: this worker's TCP listeners (none: no HTTP).
  static absl::StatusOr<std::unique_ptr<UringLoop>> Create(
      const std::vector<int>& fds, const std::vector<int>& http_listeners,
      const UringOptions& options, WorkerCore* core);
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

  // HTTP (daemon/http_conn.h): multishot accept on each listener, one
  // receive or send in flight per connection, receives into the provided
  // buffers of one HTTP buffer group (or, while a connection holds part of
  // a head, straight into its own input buffer).
  absl::Status SetUpHttp(const std::vector<int>& listeners);
  void ArmAccept(size_t listener);
  void ProcessAccept(size_t listener, const io_uring_cqe* cqe);
  void ProcessHttp(const io_uring_cqe* cqe);
  // Issues what connection `i` does next (an SQE, or its close).
  void DriveHttp(uint32_t i, HttpConn::Next next);
  void RecycleHttpBuffer(uint16_t bid);
  uint8_t* http_buffer(uint16_t bid);

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

  struct Http;
  std::unique_ptr<Http> http_;  // null without HTTP listeners
  int64_t now_ms_ = 0;          // this turn's MonotonicMs()
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_URING_LOOP_H_
