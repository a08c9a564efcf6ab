// The epoll side of the HTTP server, for the recvmmsg fallback loop
// (--io mmsg): level-triggered epoll over this worker's TCP listeners and
// connections, driving the same HttpConn machines and HttpConnTable as
// the io_uring loop. The loop polls fd() beside its UDP sockets and calls
// Serve() when it is readable, and Expire() every turn.
#ifndef RINGTRACK_DAEMON_HTTP_EPOLL_H_
#define RINGTRACK_DAEMON_HTTP_EPOLL_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http_conn_table.h"

namespace ringtrack {

class HttpEpoll {
 public:
  // `listeners`: this worker's listening sockets (not owned).
  static absl::StatusOr<std::unique_ptr<HttpEpoll>> Create(
      const std::vector<int>& listeners, HttpShared* shared,
      HttpResponder* responder, HttpCounters* counters);

  int fd() const { return epoll_.get(); }
  // Handles every ready event (without blocking).
  void Serve();
  // Closes connections past their deadlines; resumes accepting after a
  // pause for lack of file descriptors.
  void Expire();

 private:
  HttpEpoll(HttpShared* shared, HttpResponder* responder,
            HttpCounters* counters)
      : table_(shared, responder, counters) {}
  void AcceptAll(size_t listener, int64_t now_ms);
  // Runs connection `i` from `next` until it waits for the socket.
  void Drive(uint32_t i, HttpConn::Next next, int64_t now_ms);
  // Runs connection `i` after its socket reported `events`.
  void OnEvents(uint32_t i, uint32_t events, int64_t now_ms);
  void Watch(uint32_t i, uint32_t events);

  UniqueFd epoll_;
  std::vector<int> listeners_;
  HttpConnTable table_;
  std::vector<uint32_t> watching_;  // epoll events per slot (0: not added)
  // Out of file descriptors: listeners are not watched until then.
  int64_t accept_paused_until_ = 0;
  bool accept_paused_ = false;
  uint8_t scratch_[kHttpRecvBytes];
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_EPOLL_H_
