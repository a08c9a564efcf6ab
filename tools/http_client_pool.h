// HttpClientPool: the TCP side of ringtrack-load's HTTP modes. A fixed
// number of slots, each one connection with at most one request in flight
// (no pipelining: BitTorrent clients do not pipeline announces), driven by
// one epoll set of non-blocking sockets from the calling thread.
//
// Two ways to use a connection, as the two kinds of client do:
//   * kNewConnection: every request opens a connection and closes it after
//     the reply, as most BitTorrent clients announce;
//   * kKeepAlive: a slot's connection carries request after request until
//     the server closes it (a reply with "Connection: close", an idle
//     timeout, a request cap); the next request then opens a new one.
//
// It frames replies with core/http's ParseResponseHead() (status,
// Content-Length, whether the server keeps the connection); what the
// request says and what the body means is the caller's, also through
// core/http/client.h. A reply without a Content-Length is counted broken:
// trackers always send one.
//
// Each connection is bound, before it connects, to the IPv4 source address
// the caller names (IP_BIND_ADDRESS_NO_PORT, so the port is picked at
// connect time per 4-tuple and thousands of source addresses on loopback
// do not each reserve a port range); 0 leaves the source to the kernel.
//
// Thread safety: none; one pool per load thread.
#ifndef RINGTRACK_TOOLS_HTTP_CLIENT_POOL_H_
#define RINGTRACK_TOOLS_HTTP_CLIENT_POOL_H_

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ringtrack {

enum class HttpConnectionMode : uint8_t { kNewConnection, kKeepAlive };

// How a request ended.
struct HttpOutcome {
  enum Kind : uint8_t {
    kReply,   // a whole reply: status and body are set
    kBroken,  // refused, reset or closed before a whole reply; err is set
  };
  Kind kind = kBroken;
  int status = 0;         // the reply's status code
  std::string_view body;  // valid during the callback only
  int err = 0;            // kBroken: errno, or 0 for a malformed reply
};

class HttpClientPool {
 public:
  // REQUIRES: target_len <= sizeof(sockaddr_storage), slots >= 1.
  HttpClientPool(const sockaddr* target, socklen_t target_len, uint32_t slots,
                 HttpConnectionMode mode);
  ~HttpClientPool();  // closes every connection
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  uint32_t slots() const { return static_cast<uint32_t>(slots_.size()); }
  // True iff slot `si` has no request in flight.
  bool idle(uint32_t si) const { return slots_[si].state == State::kIdle; }
  // True iff slot `si` holds an open connection (keep-alive, between
  // requests); source(si) is then the IPv4 source it was opened from.
  bool connected(uint32_t si) const { return slots_[si].fd >= 0; }
  uint32_t source(uint32_t si) const { return slots_[si].source; }
  // Sends `request` on slot `si`, opening a connection from `source_v4`
  // (host order, 0 = the kernel's choice) unless the slot keeps one open
  // from that source. A request that fails on a kept-alive connection
  // before any reply byte (the server closed it while idle) is sent once
  // more on a new one.
  // REQUIRES: idle(si).
  void Start(uint32_t si, std::string_view request, uint32_t source_v4);
  // Waits up to `timeout_ms` for socket events and calls done(si, outcome)
  // for each request that ended. Slot si is idle again when done runs.
  void Poll(int timeout_ms,
            const std::function<void(uint32_t, const HttpOutcome&)>& done);
  // Gives up on slot si's request (a timeout): closes its connection.
  // REQUIRES: !idle(si).
  void Abort(uint32_t si);
  // Connections opened so far.
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  enum class State : uint8_t { kIdle, kConnecting, kSending, kReceiving };
  struct Slot {
    int fd = -1;
    uint32_t generation = 0;  // tells a stale epoll event from a fresh one
    uint32_t source = 0;
    State state = State::kIdle;
    bool reused = false;  // the request went on a kept-alive connection
    std::string request;
    size_t sent = 0;
    std::string reply;
  };

  bool Open(uint32_t si, uint32_t source_v4);
  void CloseConnection(uint32_t si);
  // Advances slot si after an event; returns true iff its request ended,
  // with *outcome set.
  bool Drive(uint32_t si, uint32_t events, HttpOutcome* outcome);
  bool Send(uint32_t si, HttpOutcome* outcome);
  bool Receive(uint32_t si, HttpOutcome* outcome);
  bool Fail(uint32_t si, int err, HttpOutcome* outcome);

  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  HttpConnectionMode mode_;
  int epoll_fd_ = -1;
  std::vector<Slot> slots_;
  uint64_t connections_opened_ = 0;
  // Slots whose request ended inside Start() (a connect refused at once),
  // reported by the next Poll().
  std::vector<std::pair<uint32_t, int>> failed_at_start_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_HTTP_CLIENT_POOL_H_
