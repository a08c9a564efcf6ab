// The fallback loop for hosts where io_uring cannot be set up: poll() for
// readiness, then recvmmsg/sendmmsg in batches, so there is still no syscall
// per datagram under load.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <vector>

#include "daemon/pktinfo.h"
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
  // Destination in (pktinfo on wildcard sockets), reply source out.
  struct alignas(cmsghdr) Control {
    uint8_t bytes[kPktInfoSpace];
  };
  std::array<Control, kBatch> in_ctl{};
  std::array<Control, kBatch> out_ctl{};
  std::array<std::array<uint8_t, kRecvSize>, kBatch> data{};
  std::array<std::array<uint8_t, kMaxReplySize>, kBatch> reply{};
};

// Sends msgs[0..m). sendmmsg stops at the first message that fails (a
// blackholed route, EPERM from a firewall, a broadcast source) and reports
// it on the next call: that one message is counted and skipped, never the
// rest of the batch. A full socket buffer (EAGAIN) drops what is left.
void SendAll(int fd, mmsghdr* msgs, int m, WorkerCore* core) {
  for (int done = 0; done < m;) {
    const int s = sendmmsg(fd, msgs + done, m - done, MSG_DONTWAIT);
    if (s > 0) {
      core->io.sent.Add(s);
      done += s;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      core->io.send_errors.Add(m - done);
      return;
    } else {
      core->io.send_errors.Add();
      ++done;
    }
  }
}

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
      b.in[i].msg_hdr.msg_control = b.in_ctl[i].bytes;
      b.in[i].msg_hdr.msg_controllen = kPktInfoSpace;
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
      for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (const size_t n = ReplyControlFrom(c, b.out_ctl[m].bytes); n > 0) {
          b.out[m].msg_hdr.msg_control = b.out_ctl[m].bytes;
          b.out[m].msg_hdr.msg_controllen = n;
          break;
        }
      }
      ++m;
    }
    SendAll(fd, b.out.data(), m, core);
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
