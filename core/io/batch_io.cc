#include "core/io/batch_io.h"

#include <errno.h>

#include <cassert>

namespace ringtrack {

RecvBatch::RecvBatch(int capacity, size_t buffer_size, size_t control_size)
    : buffer_size_(buffer_size),
      control_size_(control_size),
      buffers_(capacity * buffer_size),
      control_(capacity * control_size),
      from_(capacity),
      iov_(capacity),
      msgs_(capacity) {
  assert(capacity > 0 && buffer_size > 0);
  for (int i = 0; i < capacity; ++i) {
    iov_[i] = {&buffers_[i * buffer_size], buffer_size};
  }
}

int RecvBatch::Receive(int fd, int flags) {
  // The kernel overwrites lengths and flags: re-arm every slot.
  for (size_t i = 0; i < msgs_.size(); ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h = {};
    h.msg_name = &from_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    if (control_size_ > 0) {
      h.msg_control = &control_[i * control_size_];
      h.msg_controllen = control_size_;
    }
  }
  // MSG_TRUNC: msg_len is the datagram's length, not what was copied.
  const int n = recvmmsg(fd, msgs_.data(), static_cast<unsigned>(msgs_.size()),
                         flags | MSG_TRUNC, nullptr);
  size_ = n > 0 ? n : 0;
  return n;
}

SendBatch::SendBatch(int capacity, size_t buffer_size, size_t control_size)
    : buffer_size_(buffer_size),
      control_size_(control_size),
      buffers_(capacity * buffer_size),
      control_(capacity * control_size),
      iov_(capacity),
      msgs_(capacity) {
  assert(capacity > 0);
}

void SendBatch::Push(std::span<const uint8_t> data, const sockaddr* to,
                     socklen_t to_len, size_t control_len) {
  assert(!full() && control_len <= control_size_);
  iov_[size_] = {const_cast<uint8_t*>(data.data()), data.size()};
  msghdr& h = msgs_[size_].msg_hdr;
  h = {};
  h.msg_name = const_cast<sockaddr*>(to);
  h.msg_namelen = to_len;
  h.msg_iov = &iov_[size_];
  h.msg_iovlen = 1;
  if (control_len > 0) {
    h.msg_control = &control_[size_ * control_size_];
    h.msg_controllen = control_len;
  }
  ++size_;
}

SendBatch::Outcome SendBatch::Flush(int fd, int flags) {
  Outcome o;
  const int m = size_;
  size_ = 0;
  int done = 0;
  while (done < m) {
    const int s = sendmmsg(fd, msgs_.data() + done,
                           static_cast<unsigned>(m - done), flags);
    if (s > 0) {
      o.sent += s;
      done += s;
    } else if (s < 0 && errno == EINTR) {
      continue;
    } else if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      ++o.failed;  // this one message; the rest are tried again
      ++done;
    }
  }
  o.first_unsent = done;
  return o;
}

}  // namespace ringtrack
