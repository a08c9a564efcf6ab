// HttpServer: the reply to each kind of request head, and the real server
// over loopback TCP (a scrape, a silent client, an oversized head, a port
// in use, Stop() during a connection).
#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

std::unique_ptr<HttpServer> Make(
    absl::Duration timeout = absl::Seconds(2),
    size_t max_connections = HttpServer::kDefaultMaxConnections) {
  std::vector<HttpServer::Route> routes = {
      {"/metrics", "text/plain; version=0.0.4", [] { return std::string("up 1\n"); }},
      {"/", "text/plain", [] { return std::string("root\n"); }},
  };
  absl::StatusOr<std::unique_ptr<HttpServer>> s =
      HttpServer::Bind("127.0.0.1", 0, std::move(routes), timeout,
                       max_connections);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(HttpServerRespond, GetServesTheRouteWithLengthAndClose) {
  auto s = Make();
  EXPECT_EQ(s->Respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nup 1\n");
  // The query is not part of the path; HTTP/1.0 needs no Host.
  EXPECT_NE(s->Respond("GET /metrics?x=1 HTTP/1.0\r\n\r\n").find("\r\n\r\nup 1\n"),
            std::string::npos);
  EXPECT_NE(s->Respond("GET / HTTP/1.1\r\nHost: x\r\n\r\n").find("root\n"),
            std::string::npos);
}

TEST(HttpServerRespond, HeadHasTheLengthButNoBody) {
  auto s = Make();
  const std::string r = s->Respond("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
}

TEST(HttpServerRespond, ErrorsByKind) {
  auto s = Make();
  EXPECT_TRUE(s->Respond("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                  .starts_with("HTTP/1.1 404 "));
  const std::string post =
      s->Respond("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 ")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  for (const char* bad : {"GET /metrics\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n",
                          "GET /metrics SPDY/3\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
                          "\r\n\r\n",
                          // The shared parser's strictness: no Host on 1.1,
                          // bare LF line ends, a body.
                          "GET /metrics HTTP/1.1\r\n\r\n",
                          "GET /metrics HTTP/1.0\n\n",
                          "GET /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\n"}) {
    EXPECT_TRUE(s->Respond(bad).starts_with("HTTP/1.1 400 ")) << bad;
  }
  EXPECT_TRUE(s->Respond("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n")
                  .starts_with("HTTP/1.1 505 "));
}

// A connected socket, or -1 (after a failed expectation) if connecting
// takes over 5 s: the server's backlog is full (it is not accepting).
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const timeval five_s{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five_s, sizeof(five_s));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  EXPECT_EQ(rc, 0) << std::strerror(errno);
  if (rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the server closes (or 5 s pass).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 5000) == 1) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Fetch(int port, const std::string& request) {
  const int fd = Connect(port);
  EXPECT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  std::string r = ReadAll(fd);
  close(fd);
  return r;
}

TEST(HttpServer, ServesOverLoopbackAndClosesEachConnection) {
  auto s = Make();
  ASSERT_GT(s->port(), 0);
  s->Start();
  for (int i = 0; i < 3; ++i) {
    const std::string r = Fetch(s->port(), "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_TRUE(r.ends_with("\r\n\r\nup 1\n")) << r;
  }
  // A request split across writes is read to its end.
  const int fd = Connect(s->port());
  ASSERT_EQ(write(fd, "GET / HT", 8), 8);
  usleep(50 * 1000);
  ASSERT_EQ(write(fd, "TP/1.1\r\nHost: a\r\n\r\n", 19), 19);
  EXPECT_TRUE(ReadAll(fd).ends_with("root\n"));
  close(fd);
  s->Stop();
}

TEST(HttpServer, SilentClientIsDroppedAfterTheTimeoutAndOthersAreServed) {
  auto s = Make(absl::Milliseconds(200));
  s->Start();
  const int silent = Connect(s->port());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string r = Fetch(s->port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.ends_with("root\n")) << r;
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(ReadAll(silent), "");  // closed without a reply
  close(silent);
  s->Stop();
}

TEST(HttpServer, OversizedHeadGets431) {
  auto s = Make();
  s->Start();
  std::string req = "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a');
  const std::string r = Fetch(s->port(), req);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431 ")) << r.substr(0, 40);
  s->Stop();
}

TEST(HttpServer, PortInUseFailsAtBind) {
  auto s = Make();
  absl::StatusOr<std::unique_ptr<HttpServer>> again =
      HttpServer::Bind("127.0.0.1", s->port(), {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(again.status().message()).find("--metrics"), std::string::npos);
  EXPECT_FALSE(HttpServer::Bind("no.such.host.invalid", 0, {}).ok());
}

TEST(HttpServer, StopDuringASilentConnectionReturnsPromptly) {
  auto s = Make(absl::Seconds(30));
  s->Start();
  const int silent = Connect(s->port());
  usleep(50 * 1000);  // the server is now waiting on it
  const auto t0 = std::chrono::steady_clock::now();
  s->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  close(silent);
}

// True iff the server has neither answered nor closed `fd` yet.
bool StillOpen(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

// Hundreds of slow clients are open at once: silent ones, and ones that
// sent half a head. A scrape is still answered at once (within ReadAll's
// generous 5 s; serving one connection at a time it would wait 30 s behind
// the first), and the slow clients are still open after it.
TEST(HttpServer, ManySlowClientsDoNotStallAScrape) {
  auto s = Make(absl::Seconds(30), /*max_connections=*/512);
  s->Start();
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(Connect(s->port()));
    ASSERT_GE(slow.back(), 0) << "connection " << i << " was not accepted";
    if (i % 2 == 1) {
      const std::string half = "GET /metrics HTTP/1.1\r\nHost: slow\r\n";
      ASSERT_EQ(write(slow.back(), half.data(), half.size()),
                static_cast<ssize_t>(half.size()));
    }
  }
  for (int round = 0; round < 3; ++round) {
    const std::string r =
        Fetch(s->port(), "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_TRUE(r.ends_with("\r\n\r\nup 1\n")) << r;
  }
  for (int fd : slow) EXPECT_TRUE(StillOpen(fd)) << "fd " << fd;
  // A slow client that finishes its request is answered too.
  ASSERT_EQ(write(slow[1], "\r\n", 2), 2);
  EXPECT_TRUE(ReadAll(slow[1]).ends_with("up 1\n"));
  for (int fd : slow) close(fd);
  s->Stop();
}

// At the cap, a new connection closes the oldest one still sending its
// request (one being answered only when every connection is), and is
// served itself.
TEST(HttpServer, AtTheCapTheOldestIdleConnectionMakesRoom) {
  auto s = Make(absl::Seconds(30), /*max_connections=*/8);
  s->Start();
  std::vector<int> idle;
  // (The kernel queues connections in order, and the server accepts them
  // in that order: the ninth finds the first eight held.)
  for (int i = 0; i < 8; ++i) idle.push_back(Connect(s->port()));
  const std::string r = Fetch(s->port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(r.ends_with("root\n")) << r;
  EXPECT_EQ(ReadAll(idle[0]), "") << "the oldest was closed, unanswered";
  for (size_t i = 1; i < idle.size(); ++i) {
    EXPECT_TRUE(StillOpen(idle[i])) << i;
  }
  for (int fd : idle) close(fd);
  s->Stop();
}

}  // namespace
}  // namespace ringtrack
