// The fallback loop for hosts where io_uring cannot be set up: poll() for
// readiness, then recvmmsg/sendmmsg in batches, so there is still no syscall
// per datagram under load.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <span>
#include <vector>

#include "core/io/batch_io.h"
#include "daemon/http_epoll.h"
#include "daemon/log.h"
#include "daemon/pktinfo.h"
#include "daemon/worker.h"

namespace ringtrack {
namespace {

constexpr int kBatch = 64;
constexpr int kPollTimeoutMs = 200;  // bounds the time to notice a stop

// Received datagrams (with the destination address on wildcard sockets)
// and their replies (with the reply's source address).
struct Batches {
  RecvBatch in{kBatch, kRecvPayloadSize, kPktInfoSpace};
  SendBatch out{kBatch, kMaxUdpReplySize, kPktInfoSpace};
  // The datagrams of one Receive() handed to WorkerCore::HandleBatch():
  // batch[i] is in.data(i).
  std::vector<WorkerCore::Datagram> batch;
  Batches() { batch.reserve(kBatch); }
};

// Serves one ready socket until it has no more queued datagrams (or a
// bounded number of batches, so other sockets are not starved).
void Drain(int fd, Batches& b, WorkerCore* core) {
  for (int round = 0; round < 16; ++round) {
    const int n = b.in.Receive(fd, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        core->io.recv_errors.Add();
      return;
    }
    // Answer the whole batch at once (its announces' lookups overlap); the
    // reply to datagram i is built in slot i's buffer.
    b.batch.clear();
    for (int i = 0; i < n; ++i) {
      // A datagram cut to the buffer is answered from what it kept.
      if (b.in.truncated(i)) core->io.truncated.Add();
      b.batch.push_back({.data = b.in.data(i),
                         .from = b.in.from(i),
                         .from_len = b.in.from_len(i),
                         .reply = b.out.buffer_at(i),
                         .wire_size = b.in.wire_size(i)});
    }
    core->HandleBatch(std::span(b.batch));
    for (int i = 0; i < n; ++i) {
      const size_t len = b.batch[i].reply_size;
      if (len == 0) continue;
      // The reply leaves from the address the request came to.
      const msghdr& h = b.in.header(i);
      size_t control_len = 0;
      for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        control_len = ReplyControlFrom(c, b.out.control());
        if (control_len > 0) break;
      }
      b.out.Push(b.batch[i].reply.first(len), b.in.from(i), b.in.from_len(i),
                 control_len);
    }
    const int m = b.out.size();
    const SendBatch::Outcome o = b.out.Flush(fd, MSG_DONTWAIT);
    core->io.sent.Add(o.sent);
    // A refused message, and on a full socket buffer all that was left.
    core->io.send_errors.Add(o.failed + (m - o.first_unsent));
    if (n < kBatch) return;
  }
}

}  // namespace

void RunMmsgLoop(const std::vector<int>& fds,
                 const std::vector<int>& http_listeners, WorkerCore* core) {
  auto batches = std::make_unique<Batches>();
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
  // HTTP: one epoll set for the listeners and connections, polled as one
  // more descriptor.
  std::unique_ptr<HttpEpoll> http;
  if (!http_listeners.empty()) {
    absl::StatusOr<std::unique_ptr<HttpEpoll>> e =
        HttpEpoll::Create(http_listeners, core->http_shared(),
                          core->http_responder(), &core->http);
    if (e.ok()) {
      http = std::move(*e);
      pfds.push_back({http->fd(), POLLIN, 0});
    } else {
      log::Error("HTTP off on this worker: %s", e.status().message());
    }
  }
  while (!core->stopping()) {
    // Offline while blocked: a reload need not wait for traffic.
    core->Offline();
    const int r = poll(pfds.data(), pfds.size(), kPollTimeoutMs);
    if (http) http->Expire();
    if (r <= 0) continue;
    core->Online();
    for (const pollfd& p : pfds) {
      if (!(p.revents & POLLIN)) continue;
      if (http && p.fd == http->fd()) {
        http->Serve();
      } else {
        Drain(p.fd, *batches, core);
      }
    }
  }
  core->Offline();
}

}  // namespace ringtrack
