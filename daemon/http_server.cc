#include "daemon/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringtrack {
namespace {

constexpr size_t kMaxHeadBytes = 8192;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

std::string Reply(int status, absl::string_view content_type,
                  absl::string_view body, bool head_only,
                  absl::string_view extra_header = {}) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                                 "\r\nContent-Type: ", content_type,
                                 "\r\nContent-Length: ", body.size(),
                                 "\r\nConnection: close\r\n", extra_header,
                                 "\r\n");
  if (!head_only) out.append(body.data(), body.size());
  return out;
}

std::string Error(int status) {
  return Reply(status, "text/plain",
               absl::StrCat(status, " ", Reason(status), "\n"), false,
               status == 405 ? "Allow: GET, HEAD\r\n" : "");
}

// Where the head ends (just past its blank line), or npos. Bare LF line
// ends are accepted, as RFC 9112 allows.
size_t HeadEnd(std::string_view s) {
  const size_t crlf = s.find("\r\n\r\n");
  const size_t lf = s.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) {
    return std::string_view::npos;
  }
  return crlf < lf ? crlf + 4 : lf + 2;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Bind(
    const std::string& host, int port, std::vector<Route> routes,
    absl::Duration timeout) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->routes_ = std::move(routes);
  s->timeout_ = timeout;
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
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd.get(), 64) != 0) {
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

bool HttpServer::WaitFor(int fd, short events, absl::Time deadline) const {
  pollfd p[2] = {{fd, events, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    int timeout_ms = -1;  // an infinite deadline
    if (deadline != absl::InfiniteFuture()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    }
    const int rc = poll(p, 2, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0 || p[1].revents != 0) return false;
    if (p[0].revents != 0) return true;
  }
}

void HttpServer::Run() {
  for (;;) {
    if (!WaitFor(listen_fd_.get(), POLLIN, absl::InfiniteFuture())) return;
    UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr,
                          SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn.valid()) Serve(conn.get());
  }
}

void HttpServer::Serve(int fd) {
  const absl::Time deadline = absl::Now() + timeout_;
  std::string in;
  size_t end = std::string::npos;
  char buf[2048];
  while (end == std::string::npos) {
    if (in.size() > kMaxHeadBytes) break;
    if (!WaitFor(fd, POLLIN, deadline)) return;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    if (n > 0) in.append(buf, static_cast<size_t>(n));
    end = HeadEnd(in);
  }
  const std::string out =
      end == std::string::npos || end > kMaxHeadBytes
          ? Error(431)
          : Respond(std::string_view(in).substr(0, end));
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return;
    } else {
      return;
    }
  }
  shutdown(fd, SHUT_WR);
}

std::string HttpServer::Respond(std::string_view head) const {
  // The request line: METHOD SP TARGET SP HTTP-VERSION.
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400);
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!line.substr(sp2 + 1).starts_with("HTTP/1.") || !target.starts_with('/')) {
    return Error(400);
  }
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) return Error(405);
  const std::string_view path = target.substr(0, target.find('?'));
  for (const Route& r : routes_) {
    if (r.path == path) return Reply(200, r.content_type, r.body(), head_only);
  }
  return Error(404);
}

}  // namespace ringtrack
