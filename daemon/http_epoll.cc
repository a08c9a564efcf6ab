#include "daemon/http_epoll.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

namespace ringtrack {
namespace {

// epoll_event.data: a listener's index with this bit, or a connection's
// slot and generation.
constexpr uint64_t kListenerBit = uint64_t{1} << 63;
constexpr int kMaxEvents = 256;
// Accepts per listener per readiness: others get their turn.
constexpr int kAcceptBurst = 64;
// How long accepting pauses when the process is out of file descriptors.
constexpr int64_t kAcceptPauseMs = 100;

uint64_t ConnData(uint32_t slot, uint32_t generation) {
  return (uint64_t{generation & 0x7fffffff} << 32) | slot;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEpoll>> HttpEpoll::Create(
    const std::vector<int>& listeners, HttpShared* shared,
    HttpResponder* responder, HttpCounters* counters) {
  std::unique_ptr<HttpEpoll> e(new HttpEpoll(shared, responder, counters));
  e->epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
  if (!e->epoll_.valid()) return absl::ErrnoToStatus(errno, "epoll_create1");
  e->listeners_ = listeners;
  for (size_t i = 0; i < listeners.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerBit | i;
    if (epoll_ctl(e->epoll_.get(), EPOLL_CTL_ADD, listeners[i], &ev) != 0) {
      return absl::ErrnoToStatus(errno, "epoll_ctl on an HTTP listener");
    }
  }
  return e;
}

void HttpEpoll::Watch(uint32_t i, uint32_t events) {
  if (watching_.size() <= i) watching_.resize(i + 1, 0);
  if (watching_[i] == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = ConnData(i, table_.generation(i));
  epoll_ctl(epoll_.get(), watching_[i] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
            table_.fd(i), &ev);
  watching_[i] = events;
}

void HttpEpoll::AcceptAll(size_t l, int64_t now_ms) {
  for (int k = 0; k < kAcceptBurst; ++k) {
    const int fd = accept4(listeners_[l], nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      table_.counters()->accept_errors.Add();
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        // The listener stays readable: stop watching it for a while
        // rather than spin on it.
        for (int lfd : listeners_) {
          epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, lfd, nullptr);
        }
        accept_paused_ = true;
        accept_paused_until_ = now_ms + kAcceptPauseMs;
      }
      return;
    }
    const uint32_t i = table_.Add(UniqueFd(fd), now_ms);
    if (i == HttpConnTable::kNone) continue;
    if (watching_.size() > i) watching_[i] = 0;  // a new socket in the slot
    Watch(i, EPOLLIN | EPOLLRDHUP);
  }
}

void HttpEpoll::Drive(uint32_t i, HttpConn::Next next, int64_t now_ms) {
  HttpConn& c = table_.conn(i);
  for (;;) {
    switch (next) {
      case HttpConn::Next::kClose:
        if (watching_.size() > i) watching_[i] = 0;
        table_.Close(i, c.close_reason());
        return;
      case HttpConn::Next::kRecv:
        // Level-triggered: the next readiness brings us back.
        Watch(i, EPOLLIN | EPOLLRDHUP);
        table_.Arm(i, now_ms);
        return;
      case HttpConn::Next::kSend: {
        const std::span<const uint8_t> p = c.Pending();
        const ssize_t n = send(table_.fd(i), p.data(), p.size(),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) {
            Watch(i, EPOLLOUT);
            table_.Arm(i, now_ms);
            return;
          }
          next = HttpConn::Next::kClose;
          if (watching_.size() > i) watching_[i] = 0;
          table_.Close(i, HttpCloseReason::kIoError);
          return;
        }
        next = c.OnSent(static_cast<size_t>(n));
        break;
      }
    }
  }
}

void HttpEpoll::OnEvents(uint32_t i, uint32_t events, int64_t now_ms) {
  HttpConn& c = table_.conn(i);
  if (watching_[i] & EPOLLOUT) {
    Drive(i, HttpConn::Next::kSend, now_ms);
    return;
  }
  const std::span<uint8_t> space = c.RecvSpace();
  uint8_t* to = space.empty() ? scratch_ : space.data();
  const size_t room = space.empty() ? sizeof(scratch_) : space.size();
  const ssize_t n = recv(table_.fd(i), to, room, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    if (watching_.size() > i) watching_[i] = 0;
    table_.Close(i, errno == ECONNRESET ? HttpCloseReason::kPeerClosed
                                        : HttpCloseReason::kIoError);
    return;
  }
  (void)events;
  Drive(i,
        space.empty() ? c.OnReceived({scratch_, static_cast<size_t>(n)})
                      : c.OnReceivedInPlace(static_cast<size_t>(n)),
        now_ms);
}

void HttpEpoll::Serve() {
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_.get(), events, kMaxEvents, 0);
  if (n <= 0) return;
  const int64_t now_ms = MonotonicMs();
  for (int k = 0; k < n; ++k) {
    const uint64_t d = events[k].data.u64;
    if (d & kListenerBit) {
      AcceptAll(static_cast<size_t>(d & ~kListenerBit), now_ms);
      continue;
    }
    const uint32_t i = static_cast<uint32_t>(d);
    const uint32_t gen = static_cast<uint32_t>(d >> 32);
    // Closed (and maybe reused) by an earlier event of this batch.
    if (!table_.live(i) || (table_.generation(i) & 0x7fffffff) != gen) continue;
    OnEvents(i, events[k].events, now_ms);
  }
}

void HttpEpoll::Expire() {
  const int64_t now_ms = MonotonicMs();
  table_.Expire(now_ms);
  // Closed slots are no longer in the epoll set (their fds are closed).
  if (accept_paused_ && now_ms >= accept_paused_until_) {
    accept_paused_ = false;
    for (size_t l = 0; l < listeners_.size(); ++l) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenerBit | l;
      epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listeners_[l], &ev);
    }
  }
}

}  // namespace ringtrack
