#include "tools/http_client_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ringtrack {
namespace {

constexpr std::string_view kRequest = "GET /announce HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr std::string_view kReply =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
constexpr std::string_view kCloseReply =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";

// A loopback server on its own thread: for each connection it answers
// `per_connection` heads with kReply (the last with kCloseReply if
// `say_close`), then closes. Counts the connections it accepted.
class ScriptedServer {
 public:
  ScriptedServer(int per_connection, bool say_close)
      : per_connection_(per_connection), say_close_(say_close) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof(addr_);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  int accepted() const { return accepted_.load(); }

 private:
  void Serve() {
    for (;;) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      std::string in;
      for (int served = 0; served < per_connection_;) {
        char buf[1024];
        const ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        size_t end;
        while ((end = in.find("\r\n\r\n")) != std::string::npos &&
               served < per_connection_) {
          in.erase(0, end + 4);
          ++served;
          const std::string_view r =
              served == per_connection_ && say_close_ ? kCloseReply : kReply;
          send(c, r.data(), r.size(), MSG_NOSIGNAL);
        }
      }
      close(c);
    }
  }

  const int per_connection_;
  const bool say_close_;
  int fd_ = -1;
  sockaddr_in addr_{};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Runs `n` requests one after another on slot 0; returns the outcomes.
std::vector<HttpOutcome> RunRequests(HttpClientPool& pool, int n) {
  std::vector<HttpOutcome> outcomes;
  std::vector<std::string> bodies;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < n && std::chrono::steady_clock::now() < deadline; ++i) {
    pool.Start(0, kRequest, 0);
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      pool.Poll(100, [&](uint32_t si, const HttpOutcome& o) {
        EXPECT_EQ(si, 0u);
        outcomes.push_back(o);
        bodies.emplace_back(o.body);
        outcomes.back().body = {};
        done = true;
      });
    }
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].kind == HttpOutcome::kReply) {
      EXPECT_EQ(bodies[i], "hello");
    }
  }
  return outcomes;
}

TEST(HttpClientPoolTest, NewConnectionModeOpensOnePerRequest) {
  ScriptedServer server(/*per_connection=*/100, /*say_close=*/false);
  HttpClientPool pool(server.addr(), sizeof(sockaddr_in), 1,
                      HttpConnectionMode::kNewConnection);
  const std::vector<HttpOutcome> out = RunRequests(pool, 5);
  ASSERT_EQ(out.size(), 5u);
  for (const HttpOutcome& o : out) {
    EXPECT_EQ(o.kind, HttpOutcome::kReply);
    EXPECT_EQ(o.status, 200);
  }
  EXPECT_EQ(pool.connections_opened(), 5u);
}

TEST(HttpClientPoolTest, KeepAliveReusesTheConnection) {
  ScriptedServer server(/*per_connection=*/100, /*say_close=*/false);
  HttpClientPool pool(server.addr(), sizeof(sockaddr_in), 1,
                      HttpConnectionMode::kKeepAlive);
  const std::vector<HttpOutcome> out = RunRequests(pool, 20);
  ASSERT_EQ(out.size(), 20u);
  for (const HttpOutcome& o : out) EXPECT_EQ(o.kind, HttpOutcome::kReply);
  EXPECT_EQ(pool.connections_opened(), 1u);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClientPoolTest, KeepAliveReopensAfterConnectionClose) {
  // Three requests a connection, the third reply says Connection: close.
  ScriptedServer server(/*per_connection=*/3, /*say_close=*/true);
  HttpClientPool pool(server.addr(), sizeof(sockaddr_in), 1,
                      HttpConnectionMode::kKeepAlive);
  const std::vector<HttpOutcome> out = RunRequests(pool, 9);
  ASSERT_EQ(out.size(), 9u);
  for (const HttpOutcome& o : out) EXPECT_EQ(o.kind, HttpOutcome::kReply);
  EXPECT_EQ(pool.connections_opened(), 3u);
}

TEST(HttpClientPoolTest, KeepAliveResendsWhenTheServerClosedAnIdleConnection) {
  // The server closes after each reply without saying so: the next request
  // goes out on a connection that is already closed, and is sent again on
  // a new one instead of being counted broken.
  ScriptedServer server(/*per_connection=*/1, /*say_close=*/false);
  HttpClientPool pool(server.addr(), sizeof(sockaddr_in), 1,
                      HttpConnectionMode::kKeepAlive);
  const std::vector<HttpOutcome> out = RunRequests(pool, 10);
  ASSERT_EQ(out.size(), 10u);
  for (const HttpOutcome& o : out) {
    EXPECT_EQ(o.kind, HttpOutcome::kReply) << "err " << o.err;
  }
  EXPECT_EQ(server.accepted(), 10);
}

TEST(HttpClientPoolTest, RefusedIsBrokenAndAbortFreesTheSlot) {
  sockaddr_in closed{};
  {
    ScriptedServer server(1, false);
    closed = *reinterpret_cast<const sockaddr_in*>(server.addr());
  }  // its port is closed now
  HttpClientPool pool(reinterpret_cast<sockaddr*>(&closed), sizeof(closed), 1,
                      HttpConnectionMode::kNewConnection);
  const std::vector<HttpOutcome> out = RunRequests(pool, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, HttpOutcome::kBroken);
  EXPECT_EQ(out[0].err, ECONNREFUSED);
  EXPECT_TRUE(pool.idle(0));

  // A listener that never answers: the request stays in flight until
  // Abort().
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(silent, 4), 0);
  socklen_t len = sizeof(a);
  getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
  HttpClientPool quiet(reinterpret_cast<sockaddr*>(&a), sizeof(a), 1,
                       HttpConnectionMode::kNewConnection);
  quiet.Start(0, kRequest, 0);
  int ended = 0;
  quiet.Poll(200, [&](uint32_t, const HttpOutcome&) { ++ended; });
  EXPECT_EQ(ended, 0);
  EXPECT_FALSE(quiet.idle(0));
  quiet.Abort(0);
  EXPECT_TRUE(quiet.idle(0));
  close(silent);
}

}  // namespace
}  // namespace ringtrack
