// The fallback loop for hosts where io_uring cannot be set up: poll() for
// readiness, then recvmmsg/sendmmsg in batches, so there is still no syscall
// per datagram under load.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <vector>

#include "daemon/worker.h"

namespace ringtrack {
namespace {

constexpr int kBatch = 64;
constexpr size_t kRecvSize = 2048;
constexpr int kPollTimeoutMs = 200;  // bounds the time to notice a stop

struct Batch {
  std::array<mmsghdr, kBatch> in{};
  std::array<mmsghdr, kBatch> out{};
  std::array<iovec, kBatch> in_iov{};
  std::array<iovec, kBatch> out_iov{};
  std::array<sockaddr_storage, kBatch> from{};
  std::array<std::array<uint8_t, kRecvSize>, kBatch> data{};
  std::array<std::array<uint8_t, kMaxReplySize>, kBatch> reply{};
};

// Serves one ready socket until it has no more queued datagrams (or a
// bounded number of batches, so other sockets are not starved).
void Drain(int fd, Batch& b, WorkerCore* core) {
  for (int round = 0; round < 16; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      b.in_iov[i] = {b.data[i].data(), kRecvSize};
      b.in[i].msg_hdr = {};
      b.in[i].msg_hdr.msg_name = &b.from[i];
      b.in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      b.in[i].msg_hdr.msg_iov = &b.in_iov[i];
      b.in[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, b.in.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        core->io.recv_errors.Add();
      return;
    }
    int m = 0;
    for (int i = 0; i < n; ++i) {
      const msghdr& h = b.in[i].msg_hdr;
      if (h.msg_flags & MSG_TRUNC) {
        core->io.truncated.Add();
        continue;
      }
      const size_t len =
          core->Handle({b.data[i].data(), b.in[i].msg_len},
                       reinterpret_cast<const sockaddr*>(&b.from[i]),
                       h.msg_namelen, b.reply[m]);
      if (len == 0) continue;
      b.out_iov[m] = {b.reply[m].data(), len};
      b.out[m].msg_hdr = {};
      b.out[m].msg_hdr.msg_name = &b.from[i];
      b.out[m].msg_hdr.msg_namelen = h.msg_namelen;
      b.out[m].msg_hdr.msg_iov = &b.out_iov[m];
      b.out[m].msg_hdr.msg_iovlen = 1;
      ++m;
    }
    for (int done = 0; done < m;) {
      const int s = sendmmsg(fd, b.out.data() + done, m - done, 0);
      if (s <= 0) {
        if (errno == EINTR) continue;
        core->io.send_errors.Add(m - done);
        break;
      }
      core->io.sent.Add(s);
      done += s;
    }
    if (n < kBatch) return;
  }
}

}  // namespace

void RunMmsgLoop(const std::vector<int>& fds, WorkerCore* core) {
  auto batch = std::make_unique<Batch>();
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
  while (!core->stopping()) {
    const int r = poll(pfds.data(), pfds.size(), kPollTimeoutMs);
    if (r <= 0) continue;
    for (const pollfd& p : pfds) {
      if (p.revents & POLLIN) Drain(p.fd, *batch, core);
    }
  }
}

}  // namespace ringtrack
