// HttpServer: a small HTTP/1.1 server for a few fixed GET paths (ringtrackd's
// Prometheus endpoint), from one thread of its own.
//
// Why not a library: Debian's cpp-httplib is built with TLS and compression,
// so linking it loads OpenSSL, brotli and zlib: 3.6 MiB resident in every
// ringtrackd, metrics on or off, which is 1.8 bytes per peer at 2 M peers
// (README "Memory"). A scrape endpoint needs none of it.
//
// What it speaks: one request per connection (the reply says
// "Connection: close"), GET and HEAD, the path without its query. An unknown
// path gets 404, another method 405, a malformed request 400, a header
// block over 8 KiB 431. Connections are served one at a time; a client gets
// `timeout` to send its request and read the reply, then it is closed, so a
// slow or silent client delays a scrape by at most that.
//
// Thread safety: Start() and Stop() from one owning thread. Handlers run on
// the server's thread and must be safe to call concurrently with the rest
// of the program.
#ifndef RINGTRACK_DAEMON_HTTP_SERVER_H_
#define RINGTRACK_DAEMON_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

  // Binds HOST:PORT now (HOST a name or an address; port 0 picks one), so
  // a port in use fails at start. Serves from Start() on.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Bind(
      const std::string& host, int port, std::vector<Route> routes,
      absl::Duration timeout = absl::Seconds(2));
  ~HttpServer();  // Stop()s

  void Start();
  // Wakes the thread, abandons a connection in progress, and joins.
  void Stop();
  int port() const { return port_; }

  // The reply, as sent, to one request head (the bytes up to and
  // including the blank line). Exposed for tests.
  std::string Respond(std::string_view head) const;

 private:
  HttpServer() = default;
  void Run();
  void Serve(int fd);
  // Waits until `fd` is ready for `events`; false on timeout or Stop().
  bool WaitFor(int fd, short events, absl::Time deadline) const;

  std::vector<Route> routes_;
  absl::Duration timeout_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // eventfd; readable once Stop() is called
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_SERVER_H_
