// The reference server for the HTTP benchmark (bench/http_bench.sh): it
// accepts, reads a request head, writes a fixed announce reply of the size
// a tracker's is (a bencoded dictionary with 50 compact IPv4 peers, as for
// numwant 50), and closes or keeps the connection alive as the request
// asks (HTTP/1.0 or "Connection: close": close). No state, no parsing
// beyond finding the head's end: what it costs per response is what the
// kernel's TCP work and the syscalls cost, the limit for any HTTP tracker
// on this machine.
//
// One thread per worker, each with its own SO_REUSEPORT listener and epoll
// set of non-blocking sockets (edge-triggered, read and written until
// EAGAIN), as ringtrackd's --io mmsg HTTP path serves.
//   stateless_http_responder IPV4:PORT [WORKERS]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace {

volatile sig_atomic_t g_stop = 0;
// A head longer than this is refused by closing (the server's limit).
constexpr size_t kMaxHead = 2048;
constexpr int kMaxEvents = 256;
constexpr int kPeers = 50;

std::string MakeReply(bool close) {
  std::string peers;
  for (int i = 0; i < kPeers; ++i) {
    const uint32_t ip = 0x0a000001 + i;  // made up: 10.0.0.x:6881
    const char entry[6] = {char(ip >> 24), char(ip >> 16), char(ip >> 8),
                           char(ip),       char(6881 >> 8), char(6881 & 0xff)};
    peers.append(entry, 6);
  }
  const std::string body =
      absl::StrCat("d8:completei1e10:incompletei1e8:intervali1800e",
                   "12:min intervali900e5:peers", peers.size(), ":", peers,
                   "e");
  return absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                      close ? "Connection: close\r\n" : "",
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

// Whether the client asked to close after this request.
bool WantsClose(std::string_view head) {
  const std::string lower = absl::AsciiStrToLower(std::string(head));
  const size_t eol = lower.find("\r\n");
  const bool http10 = eol != std::string::npos && eol >= 8 &&
                      lower.compare(eol - 8, 8, "http/1.0") == 0;
  if (lower.find("\r\nconnection: close") != std::string::npos) return true;
  return http10 && lower.find("\r\nconnection: keep-alive") == std::string::npos;
}

struct Conn {
  std::string in;
  std::string out;
  size_t out_sent = 0;
  bool close_after = false;
};

void Serve(const sockaddr_in& addr) {
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(lfd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(lfd, 4096) != 0) {
    std::perror("stateless_http_responder: bind/listen");
    std::exit(1);
  }
  const std::string reply_close = MakeReply(true);
  const std::string reply_keep = MakeReply(false);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  std::vector<Conn> conns(1024);
  auto drop = [&](int fd) {
    close(fd);
    conns[fd] = Conn{};
  };
  epoll_event events[kMaxEvents];
  char buf[4096];
  while (!g_stop) {
    const int n = epoll_wait(ep, events, kMaxEvents, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          const int c = accept4(lfd, nullptr, nullptr,
                                SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          if (static_cast<size_t>(c) >= conns.size()) conns.resize(c * 2);
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          ev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      Conn& conn = conns[fd];
      bool dead = false;
      // Read every head that has arrived, answering each (pipelining).
      for (;;) {
        const ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          dead = true;
          break;
        }
        if (got < 0) break;
        conn.in.append(buf, static_cast<size_t>(got));
        size_t end;
        while ((end = conn.in.find("\r\n\r\n")) != std::string::npos) {
          const bool close_it = WantsClose(std::string_view(conn.in).substr(0, end));
          conn.out += close_it ? reply_close : reply_keep;
          conn.in.erase(0, end + 4);
          if (close_it) {
            conn.close_after = true;
            conn.in.clear();
            break;
          }
        }
        if (conn.in.size() > kMaxHead) dead = true;
        if (dead || conn.close_after) break;
      }
      while (!dead && conn.out_sent < conn.out.size()) {
        const ssize_t s = send(fd, conn.out.data() + conn.out_sent,
                               conn.out.size() - conn.out_sent, MSG_NOSIGNAL);
        if (s < 0) {
          if (errno != EAGAIN && errno != EINTR) dead = true;
          break;
        }
        conn.out_sent += static_cast<size_t>(s);
      }
      if (!dead && conn.out_sent == conn.out.size()) {
        conn.out.clear();
        conn.out_sent = 0;
        if (conn.close_after) dead = true;
      }
      if (dead) drop(fd);
    }
  }
  close(ep);
  close(lfd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: stateless_http_responder IPV4:PORT [WORKERS]\n");
    return 2;
  }
  const std::string spec = argv[1];
  const size_t colon = spec.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, spec.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "stateless_http_responder: bad address %s\n", argv[1]);
    return 2;
  }
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(spec.substr(colon + 1))));
  const int workers = argc == 3 ? std::atoi(argv[2]) : 1;
  if (workers < 1 || workers > 64) {
    std::fprintf(stderr, "stateless_http_responder: WORKERS must be 1..64\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(Serve, addr);
  std::fprintf(stderr, "stateless_http_responder listening on %s, %d worker(s)\n",
               argv[1], workers);
  for (auto& t : threads) t.join();
  return 0;
}
