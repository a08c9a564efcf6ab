// HttpServer: a small HTTP/1.1 server for a few fixed GET paths (ringtrackd's
// Prometheus endpoint), from one thread of its own.
//
// Why not a library: Debian's cpp-httplib is built with TLS and compression,
// so linking it loads OpenSSL, brotli and zlib: 3.6 MiB resident in every
// ringtrackd, metrics on or off, which is 1.8 bytes per peer at 2 M peers
// (README "Memory"). A scrape endpoint needs none of it.
//
// What it speaks: one request per connection (the reply says
// "Connection: close"), GET and HEAD, the path without its query. Heads are
// framed and parsed by core/http/request_head.h, the tracker's own strict
// parser (CRLF line ends, Host on HTTP/1.1, no body): an unknown path gets
// 404, another method 405, a malformed request 400, a head over 8 KiB or 32
// fields 431, an HTTP version other than 1.0 and 1.1 505.
//
// How it serves: one thread, one epoll set, non-blocking sockets, so any
// number of slow or silent clients cannot delay another's scrape:
//   * each connection gets `timeout` from its accept to send its request
//     and read the reply, then it is closed (a silent client costs a
//     socket for that long, never another client's time);
//   * at most `max_connections` are open; accepting one more closes the
//     oldest connection still sending its request (an idle or slow client),
//     else the oldest one, so a new scrape always gets a slot;
//   * a connection holds at most its head (8 KiB) and its one reply.
// Parsing a request head (Respond()) knows nothing of sockets, so another
// server can reuse it.
//
// Thread safety: Start() and Stop() from one owning thread. Handlers run on
// the server's thread and must be safe to call concurrently with the rest
// of the program.
#ifndef RINGTRACK_DAEMON_HTTP_SERVER_H_
#define RINGTRACK_DAEMON_HTTP_SERVER_H_

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/net.h"

namespace ringtrack {

class HttpServer {
 public:
  struct Route {
    std::string path;          // exact, e.g. "/metrics"
    std::string content_type;  // e.g. "text/plain"
    std::function<std::string()> body;
  };

  // A scrape takes milliseconds; 2 s is ample on a loaded host and bounds
  // what a silent client holds.
  static constexpr absl::Duration kDefaultTimeout = absl::Seconds(2);
  // Prometheus uses one connection per scrape (two for an HA pair); 256
  // leaves room for many scrapers and people with curl, and bounds the
  // server to 256 sockets and a few MiB (head plus reply each).
  static constexpr size_t kDefaultMaxConnections = 256;

  // Binds HOST:PORT now (HOST a name or an address; port 0 picks one), so
  // a port in use fails at start. Serves from Start() on.
  // REQUIRES: max_connections >= 1.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Bind(
      const std::string& host, int port, std::vector<Route> routes,
      absl::Duration timeout = kDefaultTimeout,
      size_t max_connections = kDefaultMaxConnections);
  ~HttpServer();  // Stop()s

  void Start();
  // Wakes the thread, closes every connection, and joins.
  void Stop();
  int port() const { return port_; }

  // The reply, as sent, to one request head (the bytes up to and
  // including the blank line). Exposed for tests.
  std::string Respond(std::string_view head) const;

 private:
  struct Connection;
  using ConnectionList = std::list<Connection>;

  HttpServer() = default;
  void Run();
  // Accepts every pending connection, making room at the cap.
  void AcceptAll();
  // Reads what `c` sent; once its head is whole, writes the reply.
  void OnReadable(ConnectionList::iterator c);
  // Sends what is left of `c`'s reply; closes it once all is sent.
  void OnWritable(ConnectionList::iterator c);
  void Close(ConnectionList::iterator c);
  // Closes the connection that is the best to lose (see the header); with
  // `idle_only`, only one still sending its request. Returns true iff it
  // closed one.
  bool Evict(bool idle_only);
  // Closes connections past their deadline; returns the epoll timeout
  // (ms, -1: none) until the next deadline.
  int ExpireAndNextTimeout();

  std::vector<Route> routes_;
  absl::Duration timeout_;
  size_t max_connections_ = kDefaultMaxConnections;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;   // eventfd; readable once Stop() is called
  UniqueFd epoll_fd_;
  std::thread thread_;
  int port_ = 0;
  // Open connections in accept order (so oldest first, and by deadline);
  // touched only by the server's thread.
  ConnectionList connections_;
  absl::flat_hash_map<int, ConnectionList::iterator> by_fd_;
  // Out of file descriptors: accepting pauses until then.
  absl::Time accept_paused_until_ = absl::InfinitePast();
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_SERVER_H_
