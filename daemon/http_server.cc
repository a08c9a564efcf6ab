#include "daemon/http_server.h"

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/http/request_head.h"

namespace ringtrack {
namespace {

// The request-head limits: core/http's defaults (8 KiB, 32 fields), the
// same as the tracker's HTTP front end.
const http::HeadLimits kLimits;

std::string Reply(int status, absl::string_view content_type,
                  absl::string_view body, bool head_only,
                  absl::string_view extra_header = {}) {
  const std::string_view reason =
      http::ReasonPhrase(static_cast<http::Status>(status));
  std::string out = absl::StrCat(
      "HTTP/1.1 ", status, " ", absl::string_view(reason.data(), reason.size()),
      "\r\nContent-Type: ", content_type, "\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n", extra_header, "\r\n");
  if (!head_only) out.append(body.data(), body.size());
  return out;
}

std::string Error(http::Status status) {
  const int code = static_cast<int>(status);
  const std::string_view reason = http::ReasonPhrase(status);
  return Reply(code, "text/plain",
               absl::StrCat(code, " ",
                            absl::string_view(reason.data(), reason.size()),
                            "\n"),
               false, code == 405 ? "Allow: GET, HEAD\r\n" : "");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Bind(
    const std::string& host, int port, std::vector<Route> routes,
    absl::Duration timeout, size_t max_connections) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->routes_ = std::move(routes);
  s->timeout_ = timeout;
  s->max_connections_ = std::max<size_t>(1, max_connections);
  const std::string where = absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics: cannot resolve ", where, ": ", gai_strerror(rc)));
  }
  int last_errno = 0;
  for (addrinfo* ai = found; ai != nullptr && !s->listen_fd_.valid(); ai = ai->ai_next) {
    UniqueFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       ai->ai_protocol));
    if (!fd.valid()) {
      last_errno = errno;
      continue;
    }
    // SO_REUSEADDR (restart while old connections linger), never
    // SO_REUSEPORT: a second daemon must fail, not share the port.
    const int yes = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // A backlog the size of the cap: a burst of connections waits in the
    // kernel, not refused, while the thread accepts them.
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd.get(), static_cast<int>(s->max_connections_)) != 0) {
      last_errno = errno;
      continue;
    }
    s->listen_fd_ = std::move(fd);
  }
  freeaddrinfo(found);
  if (!s->listen_fd_.valid()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "--metrics: cannot listen on ", where, ": ", std::strerror(last_errno)));
  }
  absl::StatusOr<ListenAddress> bound = BoundAddress(s->listen_fd_.get());
  if (!bound.ok()) return bound.status();
  s->port_ = bound->port();
  s->stop_fd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->stop_fd_.valid()) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  s->epoll_fd_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_fd_.valid()) {
    return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  for (const int fd : {s->listen_fd_.get(), s->stop_fd_.get()}) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    if (epoll_ctl(s->epoll_fd_.get(), EPOLL_CTL_ADD, fd, &e) != 0) {
      return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
    }
  }
  return s;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(stop_fd_.get(), &one, sizeof(one));
  thread_.join();
}

struct HttpServer::Connection {
  UniqueFd fd;
  absl::Time deadline;  // accept + timeout_
  std::string in;       // the head so far (reading)
  std::string out;      // the reply (writing)
  size_t sent = 0;
  bool writing = false;
};

void HttpServer::Run() {
  epoll_event ev[64];
  for (;;) {
    const int timeout_ms = ExpireAndNextTimeout();
    const int n = epoll_wait(epoll_fd_.get(), ev, 64, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const int fd = ev[i].data.fd;
      if (fd == stop_fd_.get()) {
        while (!connections_.empty()) Close(connections_.begin());
        return;
      }
      if (fd == listen_fd_.get()) {
        AcceptAll();
        continue;
      }
      // Closed earlier in this batch (an eviction), or a new connection
      // that reuses the number: its events come in a later batch.
      const auto it = by_fd_.find(fd);
      if (it == by_fd_.end()) continue;
      const ConnectionList::iterator c = it->second;
      if (c->writing) {
        OnWritable(c);
      } else {
        OnReadable(c);  // also sees a hang-up or an error, as recv's result
      }
    }
  }
}

int HttpServer::ExpireAndNextTimeout() {
  const absl::Time now = absl::Now();
  // Accept order is deadline order (one timeout for all).
  while (!connections_.empty() && connections_.front().deadline <= now) {
    Close(connections_.begin());
  }
  absl::Time next = absl::InfiniteFuture();
  if (!connections_.empty()) next = connections_.front().deadline;
  if (accept_paused_until_ != absl::InfinitePast()) {
    if (accept_paused_until_ <= now) {
      accept_paused_until_ = absl::InfinitePast();
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.fd = listen_fd_.get();
      epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &e);
    } else {
      next = std::min(next, accept_paused_until_);
    }
  }
  if (next == absl::InfiniteFuture()) return -1;
  // Rounded up, so a wake-up never comes before the deadline it is for.
  return static_cast<int>(absl::ToInt64Milliseconds(
             std::max(next - now, absl::ZeroDuration()))) +
         1;
}

void HttpServer::AcceptAll() {
  for (;;) {
    UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr,
                        SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors: an idle connection gives its one back (try
      // again); a reply being written is never cut for it.
      if ((errno == EMFILE || errno == ENFILE) && Evict(/*idle_only=*/true)) {
        continue;
      }
      if (errno != EAGAIN) {
        // Out of descriptors or memory, with nothing of ours to free: stop
        // polling the listener for a while (level-triggered, it would wake
        // this thread again at once, and again).
        accept_paused_until_ = absl::Now() + absl::Milliseconds(100);
        epoll_event e{};
        e.events = 0;
        e.data.fd = listen_fd_.get();
        epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &e);
      }
      return;
    }
    if (connections_.size() >= max_connections_) Evict(/*idle_only=*/false);
    epoll_event e{};
    e.events = EPOLLIN | EPOLLRDHUP;
    e.data.fd = fd.get();
    if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd.get(), &e) != 0) continue;
    Connection& c = connections_.emplace_back();
    c.deadline = absl::Now() + timeout_;
    by_fd_[fd.get()] = std::prev(connections_.end());
    c.fd = std::move(fd);
  }
}

bool HttpServer::Evict(bool idle_only) {
  // The oldest one still sending its request: idle or slow, it has cost
  // nothing yet. Only if every one is being answered (and !idle_only), the
  // oldest of those.
  auto victim = idle_only ? connections_.end() : connections_.begin();
  for (auto c = connections_.begin(); c != connections_.end(); ++c) {
    if (!c->writing) {
      victim = c;
      break;
    }
  }
  if (victim == connections_.end()) return false;
  Close(victim);
  return true;
}

void HttpServer::Close(ConnectionList::iterator c) {
  // Closing the descriptor (the last reference) takes it out of the set.
  by_fd_.erase(c->fd.get());
  connections_.erase(c);
}

void HttpServer::OnReadable(ConnectionList::iterator c) {
  char buf[2048];
  http::Frame frame;
  while (frame.state == http::FrameState::kNeedMore) {
    const ssize_t n = recv(c->fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // the rest comes later
    if (n <= 0) {  // closed, or an error, before a whole head
      Close(c);
      return;
    }
    c->in.append(buf, static_cast<size_t>(n));
    frame = http::FindHead(
        {reinterpret_cast<const uint8_t*>(c->in.data()), c->in.size()},
        kLimits);
  }
  c->out = frame.state == http::FrameState::kError
               ? Error(frame.error)
               : Respond(std::string_view(c->in).substr(0, frame.head_size));
  c->in = std::string();  // its memory goes now
  c->writing = true;
  // From now on it waits for room to write, should the first attempt below
  // leave some of the reply unsent.
  epoll_event e{};
  e.events = EPOLLOUT;
  e.data.fd = c->fd.get();
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, c->fd.get(), &e);
  OnWritable(c);
}

void HttpServer::OnWritable(ConnectionList::iterator c) {
  while (c->sent < c->out.size()) {
    const ssize_t n = send(c->fd.get(), c->out.data() + c->sent,
                           c->out.size() - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;  // EPOLLOUT brings us back
    } else {
      Close(c);
      return;
    }
  }
  shutdown(c->fd.get(), SHUT_WR);
  Close(c);
}

std::string HttpServer::Respond(std::string_view head) const {
  http::RequestHead h;
  if (const http::Status s = http::ParseHead(head, kLimits, &h);
      s != http::Status::kOk) {
    return Error(s);
  }
  if (h.method == http::Method::kOther) {
    return Error(http::Status::kMethodNotAllowed);
  }
  for (const Route& r : routes_) {
    if (r.path == h.path) {
      return Reply(200, r.content_type, r.body(),
                   h.method == http::Method::kHead);
    }
  }
  return Error(http::Status::kNotFound);
}

}  // namespace ringtrack
