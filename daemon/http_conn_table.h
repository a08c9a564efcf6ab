// HttpConnTable: one worker's open HTTP connections. Each slot holds the
// connection's socket (owned: closed when the slot is freed or the table
// destroyed), its HttpConn machine, a generation that tells a stale
// io_uring completion from a current one, and its place in a timeout
// queue. Slots are reused from a free list; the table grows in chunks up
// to the shared total cap (HttpAdmission), so a worker holds memory for
// the connections it has had open at once, never per connection served.
//
// Timeouts: one FIFO queue per kind (head, idle, send). Every entry of a
// queue has the same timeout, so appending at the tail keeps each queue in
// deadline order, and Expire() pops from the heads only what is due: O(1)
// per connection, and no work at all for connections that wait quietly
// (the loop looks at the queue heads once per turn). A timeout changed by
// a reload applies to entries queued after it.
//
// Thread safety: one worker owns the table; HttpCounters may be read by
// other threads.
#ifndef RINGTRACK_DAEMON_HTTP_CONN_TABLE_H_
#define RINGTRACK_DAEMON_HTTP_CONN_TABLE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <vector>

#include "daemon/http_conn.h"
#include "daemon/http_listener.h"
#include "daemon/net.h"

namespace ringtrack {

// Time limits of an HTTP connection, milliseconds (README "HTTP server").
struct HttpTimeouts {
  uint32_t head_ms = 10'000;  // accept or a head's first byte → whole head
  uint32_t idle_ms = 60'000;  // keep-alive: reply sent → next request
  uint32_t send_ms = 10'000;  // a reply handed to the kernel → taken
};

// Everything the workers' HTTP tables share; immutable after Start()
// except for the live values (atomics).
struct HttpShared {
  HttpResponder* responder = nullptr;  // REQUIRES: thread-safe Respond()
  HttpAdmission* admission = nullptr;
  std::atomic<uint32_t> head_timeout_ms{10'000};
  std::atomic<uint32_t> idle_timeout_ms{60'000};
  std::atomic<uint32_t> send_timeout_ms{10'000};
  std::atomic<uint32_t> max_requests{10000};
};

class HttpConnTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // `responder`: this worker's (may differ from shared.responder).
  HttpConnTable(HttpShared* shared, HttpResponder* responder,
                HttpCounters* counters);
  ~HttpConnTable();  // closes every connection (counted as kShutdown)
  HttpConnTable(const HttpConnTable&) = delete;
  HttpConnTable& operator=(const HttpConnTable&) = delete;

  // Takes a freshly accepted socket: a slot index, or kNone when the caps
  // refuse it (the socket is closed, the refusal counted).
  uint32_t Add(UniqueFd fd, int64_t now_ms);

  HttpConn& conn(uint32_t i) { return slots_[i].conn; }
  int fd(uint32_t i) const { return slots_[i].fd.get(); }
  uint32_t generation(uint32_t i) const { return slots_[i].generation; }
  bool live(uint32_t i) const { return i < slots_.size() && slots_[i].fd.valid(); }
  // Whether an io_uring operation on the socket is in flight (set by the
  // io_uring loop: a close must then wake it with shutdown()).
  void set_in_flight(uint32_t i, bool v) { slots_[i].in_flight = v; }
  bool in_flight(uint32_t i) const { return slots_[i].in_flight; }

  // Queues `i` under the timeout its machine waits on now (conn(i).wait()),
  // from `now_ms`. Called after every step that changed what it waits for;
  // a call with the same wait keeps the deadline it has.
  void Arm(uint32_t i, int64_t now_ms);
  // Closes `i`'s socket, counts `why`, frees the slot (its generation
  // moves on: completions still naming it are stale).
  void Close(uint32_t i, HttpCloseReason why);
  // Closes every connection whose deadline is at or before `now_ms`.
  void Expire(int64_t now_ms);

  size_t open() const { return open_; }
  HttpCounters* counters() { return counters_; }

 private:
  struct Slot {
    UniqueFd fd;
    HttpConn conn;
    uint32_t generation = 0;
    uint32_t prev = kNone, next = kNone;  // in queue `queue`
    int64_t deadline_ms = 0;
    // conn.requests() when the head deadline was last set: a head after
    // another request was answered is a new head, with a new deadline.
    uint32_t armed_requests = 0;
    uint8_t queue = kNoQueue;
    bool in_flight = false;
  };
  static constexpr uint8_t kNoQueue = 3;
  struct Queue {
    uint32_t head = kNone, tail = kNone;
  };
  void Unlink(uint32_t i);
  void Append(uint32_t i, uint8_t q);

  HttpShared* const shared_;
  HttpCounters* const counters_;
  HttpBufferPool in_small_pool_{kHttpRecvBytes};
  HttpBufferPool in_pool_{kHttpMaxHeadBytes};
  HttpBufferPool out_pool_{kHttpOutBufferBytes};
  HttpConnContext ctx_;
  std::deque<Slot> slots_;  // stable addresses as it grows
  std::vector<uint32_t> free_;
  Queue queues_[3];
  size_t open_ = 0;
};

// Milliseconds on CLOCK_MONOTONIC (the loops' time for the deadlines).
int64_t MonotonicMs();

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_CONN_TABLE_H_
