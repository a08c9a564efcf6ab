// Batched datagram I/O: a RecvBatch and a SendBatch each hold a fixed set
// of mmsghdr slots with their own payload and control buffers, so a loop
// moves up to `capacity` datagrams per recvmmsg/sendmmsg call without
// allocating. ringtrackd's fallback loop (daemon/mmsg_loop.cc), the
// stateless reference responder (bench/) and the load generator (tools/)
// all use these, so the batching (re-arming lengths, skipping a failed
// message, stopping on a full socket buffer) is written once.
//
// This is the one unit under core/ that makes syscalls. It owns no socket
// (callers pass their fd) and no thread, and it is its own library
// (ringtrack_batch_io), so ringtrack_core stays free of I/O.
//
// Thread safety: none; one batch belongs to one thread.
#ifndef RINGTRACK_CORE_IO_BATCH_IO_H_
#define RINGTRACK_CORE_IO_BATCH_IO_H_

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringtrack {

// Up to `capacity` received datagrams, each with its source address and
// (with control_size > 0) its ancillary data.
class RecvBatch {
 public:
  // REQUIRES: capacity > 0, buffer_size > 0.
  RecvBatch(int capacity, size_t buffer_size, size_t control_size = 0);
  RecvBatch(const RecvBatch&) = delete;
  RecvBatch& operator=(const RecvBatch&) = delete;

  // One recvmmsg(fd, ..., flags | MSG_TRUNC) into every slot: a datagram
  // longer than its buffer keeps its first buffer_size bytes, and its whole
  // length is reported (wire_size). Returns the number of datagrams
  // received (then size()), or -1 with errno set (size() 0).
  int Receive(int fd, int flags);

  int capacity() const { return static_cast<int>(msgs_.size()); }
  int size() const { return size_; }
  // Datagram i of the last Receive(). REQUIRES: 0 <= i < size().
  // Its bytes: all of it, or the first buffer_size if it was longer.
  std::span<const uint8_t> data(int i) const {
    return {&buffers_[i * buffer_size_],
            std::min<size_t>(msgs_[i].msg_len, buffer_size_)};
  }
  // Its length on the wire (larger than data(i).size() iff truncated(i)).
  size_t wire_size(int i) const { return msgs_[i].msg_len; }
  const sockaddr* from(int i) const {
    return reinterpret_cast<const sockaddr*>(&from_[i]);
  }
  socklen_t from_len(int i) const { return msgs_[i].msg_hdr.msg_namelen; }
  // Its header as the kernel filled it: flags and control messages.
  const msghdr& header(int i) const { return msgs_[i].msg_hdr; }
  // True iff it was longer than the buffer and was cut.
  bool truncated(int i) const { return msgs_[i].msg_len > buffer_size_; }

 private:
  const size_t buffer_size_;
  const size_t control_size_;
  std::vector<uint8_t> buffers_;
  std::vector<uint8_t> control_;
  std::vector<sockaddr_storage> from_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  int size_ = 0;
};

// Up to `capacity` datagrams to send with one sendmmsg per Flush(). Each
// slot has a payload buffer and a control buffer of its own; a message's
// payload may also live elsewhere (the load generator keeps requests in
// its window).
class SendBatch {
 public:
  // REQUIRES: capacity > 0.
  SendBatch(int capacity, size_t buffer_size, size_t control_size = 0);
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  int capacity() const { return static_cast<int>(msgs_.size()); }
  int size() const { return size_; }
  bool full() const { return size_ == capacity(); }

  // The payload and control buffers of the next message (index size()).
  // REQUIRES: !full().
  std::span<uint8_t> buffer() {
    return {&buffers_[size_ * buffer_size_], buffer_size_};
  }
  uint8_t* control() { return &control_[size_ * control_size_]; }
  // The payload buffer of slot i, to fill ahead of pushing (a loop that
  // handles several datagrams before it pushes their replies). A Push()
  // may name any slot's buffer; slots stay valid until Flush().
  // REQUIRES: 0 <= i < capacity().
  std::span<uint8_t> buffer_at(int i) {
    return {&buffers_[i * buffer_size_], buffer_size_};
  }

  // Appends a message: `data` (in buffer(), or storage that outlives the
  // next Flush()) to `to` (likewise kept by pointer), with the first
  // `control_len` bytes of control() as ancillary data (0: none).
  // REQUIRES: !full(), control_len <= control_size.
  void Push(std::span<const uint8_t> data, const sockaddr* to,
            socklen_t to_len, size_t control_len = 0);

  struct Outcome {
    int sent = 0;    // accepted by the kernel
    int failed = 0;  // refused one by one (blackholed route, EPERM, ...)
    // Messages from this index on were not tried: the socket buffer was
    // full (EAGAIN). Equal to the batch size when all were tried.
    int first_unsent = 0;
  };
  // Sends every message with sendmmsg(fd, ..., flags). sendmmsg stops at a
  // message that fails and reports it on the next call: that one message
  // is counted as failed and skipped, never the rest. EAGAIN stops the
  // flush. Empties the batch.
  Outcome Flush(int fd, int flags);

 private:
  const size_t buffer_size_;
  const size_t control_size_;
  std::vector<uint8_t> buffers_;
  std::vector<uint8_t> control_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  int size_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_IO_BATCH_IO_H_
