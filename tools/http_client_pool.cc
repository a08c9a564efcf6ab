#include "tools/http_client_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "core/http/client.h"

namespace ringtrack {
namespace {

// Bounds what one slot buffers: a full announce reply (numwant 200, IPv6
// peers) is under 4 KiB; a scrape of 74 hashes under 8 KiB.
constexpr size_t kMaxReply = 1 << 20;
constexpr size_t kReadChunk = 8192;
constexpr int kMaxEvents = 256;

uint64_t EventTag(uint32_t si, uint32_t generation) {
  return (uint64_t{generation} << 32) | si;
}

// True iff the server has closed (or reset) kept-alive connection `fd`
// while it sat idle: its FIN is waiting to be read. A server that closes
// after every reply without saying so (opentracker) would otherwise cost a
// request sent into a closed connection and sent again; curl checks a
// connection the same way before it reuses it.
bool ClosedByServer(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

}  // namespace

HttpClientPool::HttpClientPool(const sockaddr* target, socklen_t target_len,
                               uint32_t slots, HttpConnectionMode mode)
    : target_len_(target_len), mode_(mode), slots_(slots) {
  assert(target_len <= sizeof(target_) && slots >= 1);
  std::memcpy(&target_, target, target_len);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

HttpClientPool::~HttpClientPool() {
  for (uint32_t si = 0; si < slots_.size(); ++si) CloseConnection(si);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool HttpClientPool::Open(uint32_t si, uint32_t source_v4) {
  Slot& s = slots_[si];
  const int fd = socket(target_.ss_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  // A request is one small write: send it at once.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (source_v4 != 0 && target_.ss_family == AF_INET) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(source_v4);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      const int err = errno;
      close(fd);
      errno = err;
      return false;
    }
  }
  s.fd = fd;
  s.source = source_v4;
  ++s.generation;
  epoll_event ev{};
  // Edge-triggered, registered once: the state machine below reads and
  // writes until EAGAIN, so no event is lost and no epoll_ctl is needed
  // between connecting, sending and receiving.
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = EventTag(si, s.generation);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  ++connections_opened_;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target_), target_len_) !=
          0 &&
      errno != EINPROGRESS) {
    return false;  // the caller reports errno and closes
  }
  return true;
}

void HttpClientPool::CloseConnection(uint32_t si) {
  Slot& s = slots_[si];
  if (s.fd >= 0) {
    close(s.fd);  // also leaves the epoll set
    s.fd = -1;
  }
}

void HttpClientPool::Start(uint32_t si, std::string_view request,
                           uint32_t source_v4) {
  Slot& s = slots_[si];
  assert(s.state == State::kIdle);
  s.request.assign(request.data(), request.size());
  s.sent = 0;
  s.reply.clear();
  s.reused = false;
  if (s.fd >= 0 && mode_ == HttpConnectionMode::kKeepAlive &&
      s.source == source_v4 && !ClosedByServer(s.fd)) {
    s.state = State::kSending;
    s.reused = true;
    HttpOutcome outcome;
    if (Send(si, &outcome)) failed_at_start_.emplace_back(si, outcome.err);
    return;
  }
  CloseConnection(si);
  s.state = State::kConnecting;
  if (!Open(si, source_v4)) {
    failed_at_start_.emplace_back(si, errno);
    CloseConnection(si);
    s.state = State::kIdle;
  }
}

void HttpClientPool::Abort(uint32_t si) {
  CloseConnection(si);
  slots_[si].state = State::kIdle;
}

bool HttpClientPool::Fail(uint32_t si, int err, HttpOutcome* outcome) {
  Slot& s = slots_[si];
  CloseConnection(si);
  if (s.reused && s.reply.empty() && s.state != State::kIdle) {
    // A kept-alive connection the server closed while it sat idle (its
    // FIN not yet seen): send the request once more on a new connection,
    // as HTTP clients do for a request the server cannot have acted on
    // (RFC 9112 §9.3.1).
    s.reused = false;
    s.sent = 0;
    s.state = State::kConnecting;
    if (Open(si, s.source)) return false;
    err = errno;
    CloseConnection(si);
  }
  slots_[si].state = State::kIdle;
  outcome->kind = HttpOutcome::kBroken;
  outcome->err = err;
  return true;
}

bool HttpClientPool::Send(uint32_t si, HttpOutcome* outcome) {
  Slot& s = slots_[si];
  while (s.sent < s.request.size()) {
    const ssize_t n = send(s.fd, s.request.data() + s.sent,
                           s.request.size() - s.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == ENOTCONN) return false;  // wait
      if (errno == EINTR) continue;
      return Fail(si, errno, outcome);
    }
    s.sent += static_cast<size_t>(n);
  }
  s.state = State::kReceiving;
  return false;
}

bool HttpClientPool::Receive(uint32_t si, HttpOutcome* outcome) {
  Slot& s = slots_[si];
  for (;;) {
    const size_t old = s.reply.size();
    if (old >= kMaxReply) return Fail(si, 0, outcome);
    s.reply.resize(old + kReadChunk);
    const ssize_t n = recv(s.fd, s.reply.data() + old, kReadChunk, 0);
    const int err = errno;
    s.reply.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n < 0) {
      if (err == EINTR) continue;
      if (err != EAGAIN) return Fail(si, err, outcome);
    }
    http::ResponseHead head;
    const http::ResponseFrame frame = http::ParseResponseHead(
        {reinterpret_cast<const uint8_t*>(s.reply.data()), s.reply.size()},
        &head);
    if (frame == http::ResponseFrame::kError) return Fail(si, 0, outcome);
    const bool eof = n == 0;
    if (frame == http::ResponseFrame::kComplete &&
        s.reply.size() - head.head_size >= head.content_length) {
      outcome->kind = HttpOutcome::kReply;
      outcome->status = head.status;
      // The body stays in s.reply until the slot's next Start().
      outcome->body = std::string_view(s.reply).substr(head.head_size,
                                                      head.content_length);
      s.state = State::kIdle;
      if (!head.keep_alive || eof ||
          mode_ == HttpConnectionMode::kNewConnection) {
        CloseConnection(si);
      }
      return true;
    }
    if (eof) return Fail(si, ECONNRESET, outcome);  // closed mid-reply
    if (n < 0) return false;                        // EAGAIN: wait
  }
}

bool HttpClientPool::Drive(uint32_t si, uint32_t events, HttpOutcome* outcome) {
  Slot& s = slots_[si];
  if (s.state == State::kIdle) {
    // A kept-alive connection between requests: the server closed it (or
    // sent something unasked). Either way it is done; the next request
    // opens a new one.
    CloseConnection(si);
    return false;
  }
  if (s.state == State::kConnecting) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      return Fail(si, err ? err : ECONNREFUSED, outcome);
    }
    if (!(events & EPOLLOUT)) return false;
    s.state = State::kSending;
  }
  if (s.state == State::kSending && Send(si, outcome)) return true;
  if (s.state == State::kConnecting) return false;  // resent: see Fail()
  if (s.state == State::kReceiving) return Receive(si, outcome);
  return false;
}

void HttpClientPool::Poll(
    int timeout_ms,
    const std::function<void(uint32_t, const HttpOutcome&)>& done) {
  if (!failed_at_start_.empty()) {
    // Copied out: done() may Start() and fail again.
    std::vector<std::pair<uint32_t, int>> failed;
    failed.swap(failed_at_start_);
    for (const auto& [si, err] : failed) {
      HttpOutcome outcome;
      outcome.kind = HttpOutcome::kBroken;
      outcome.err = err;
      done(si, outcome);
    }
    timeout_ms = 0;
  }
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const uint32_t si = static_cast<uint32_t>(events[i].data.u64);
    const uint32_t generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
    if (si >= slots_.size() || slots_[si].generation != generation ||
        slots_[si].fd < 0) {
      continue;  // the connection it was for is closed
    }
    HttpOutcome outcome;
    if (Drive(si, events[i].events, &outcome)) done(si, outcome);
  }
}

}  // namespace ringtrack
