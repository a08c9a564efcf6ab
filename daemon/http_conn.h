// HttpConn: one HTTP/1.x connection's state machine, shared by the io_uring
// and the epoll loops. It makes no syscalls: a loop feeds it the bytes a
// receive brought and the count a send took, and it answers what the loop
// does next (receive, send these bytes, or close, and why). Finding where a
// request head ends, pipelining, keep-alive and the per-connection limits
// live here, once, so both loops behave byte for byte alike; what a head
// means is the HttpResponder's business (the tracker's HTTP front end, or
// a fixed reply for the stateless benchmark responder).
//
// Memory: an idle connection holds no buffer. A head that arrives whole in
// one receive (of at most kHttpRecvBytes) is answered straight from the
// loop's shared receive buffer; only a partial head (or pipelined requests
// left over while a reply is being sent) is copied into an input buffer of
// kHttpRecvBytes, swapped for one of kHttpMaxHeadBytes if the head
// outgrows it, and a reply is written into an output buffer of
// kHttpOutBufferBytes that is given back once sent. All come from the
// worker's HttpBufferPools.
//
// Framing is core/http's (http::FindHead, the tracker's strict parser):
// bytes that cannot start a request get 400, a head past the head limit
// 431, both through HttpResponder::Refuse(), and the connection closes.
// A connection serves at most HttpLimits::max_requests requests (the last
// reply says "Connection: close"). Time limits are the table's
// (daemon/http_conn_table.h); HttpConn only says which one applies.
//
// Thread safety: none; a connection belongs to one worker.
#ifndef RINGTRACK_DAEMON_HTTP_CONN_H_
#define RINGTRACK_DAEMON_HTTP_CONN_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/types.h"
#include "core/http/request_head.h"
#include "core/http/response.h"
#include "core/tracker/tracker.h"  // Counter

namespace ringtrack {

// The longest request head a connection can hold: http::HeadLimits'
// max_head_size (README "HTTP on the wire").
inline constexpr size_t kHttpMaxHeadBytes = 8192;
static_assert(kHttpMaxHeadBytes >= http::HeadLimits{}.max_head_size);
// One receive, and a partial head's first buffer: an announce head is
// ~400-700 bytes, so a trickling connection holds 2 KiB, not 8.
inline constexpr size_t kHttpRecvBytes = 2048;
// The largest reply a responder writes for one request (its contract),
// with room for the "Connection: close" ForceClose() may add.
inline constexpr size_t kHttpMaxResponseBytes = 16384;
static_assert(kHttpMaxResponseBytes >= http::kMaxResponseSize + 32);
// A connection's output buffer: room for several pipelined small replies.
inline constexpr size_t kHttpOutBufferBytes = 2 * kHttpMaxResponseBytes;

// Why a connection was closed, for the metrics (HttpCloseReasonName()).
enum class HttpCloseReason : uint8_t {
  kPeerClosed = 0,    // the client closed (or reset) its side
  kResponseClose,     // the reply said Connection: close (HTTP/1.0, asked, error)
  kRequestLimit,      // HttpLimits::max_requests served
  kBadRequest,        // 400, 405 or 505: the stream may be out of step
  kHeadTooLarge,      // 431: head past the head limit
  kTooManyHeaders,    // 431: more header fields than the limit
  kHeadTimeout,       // a head not whole within head_timeout (slowloris)
  kIdleTimeout,       // keep-alive: no new request within idle_timeout
  kSendTimeout,       // the client did not take its reply within send_timeout
  kIoError,           // a receive or send failed
  kNoBuffer,          // the worker's buffer pool was exhausted
  kShutdown,          // the daemon stopped
  kCount,
};
const char* HttpCloseReasonName(HttpCloseReason r);

struct HttpResponse {
  size_t size = 0;     // bytes written into the output span
  bool close = false;  // close once it is sent (it says Connection: close)
  uint16_t status = 200;
  // Why, when it closes (counted).
  HttpCloseReason reason = HttpCloseReason::kResponseClose;
};

// Answers one request head. Implementations write the whole response
// (status line, headers with a right Content-Length, body).
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // `head`: the request line through the blank line. `from`: the TCP
  // peer. `must_close`: the reply must close the connection (say
  // Connection: close), e.g. it is the last one this connection may have.
  // REQUIRES: out.size() >= kHttpMaxResponseBytes.
  virtual HttpResponse Respond(std::span<const uint8_t> head,
                               const PeerEndpoint& from, bool must_close,
                               std::span<uint8_t> out) = 0;
  // The closing reply to bytes http::FindHead() refused with `status`
  // (400 or 431). The default writes a bare one.
  // REQUIRES: out.size() >= kHttpMaxResponseBytes.
  virtual HttpResponse Refuse(uint16_t status, const PeerEndpoint& from,
                              std::span<uint8_t> out);
};

// Makes the response of `size` bytes in `out` say "Connection: close"
// (replacing a "Connection: keep-alive"); returns its new size.
// REQUIRES: out.size() >= size + 19.
size_t ForceClose(std::span<uint8_t> out, size_t size);

// Fixed-size buffers handed out and taken back by one worker's
// connections; kept on a free list so a busy worker stops allocating.
class HttpBufferPool {
 public:
  explicit HttpBufferPool(size_t buffer_bytes) : bytes_(buffer_bytes) {}
  ~HttpBufferPool();
  HttpBufferPool(const HttpBufferPool&) = delete;
  HttpBufferPool& operator=(const HttpBufferPool&) = delete;
  // A buffer of buffer_bytes(), or nullptr if `limit` are already out.
  uint8_t* Get();
  void Put(uint8_t* b);
  size_t buffer_bytes() const { return bytes_; }
  size_t in_use() const { return in_use_; }
  void set_limit(size_t limit) { limit_ = limit; }

 private:
  const size_t bytes_;
  size_t limit_ = SIZE_MAX;
  size_t in_use_ = 0;
  std::vector<uint8_t*> free_;
};

// One worker's HTTP counts. Single writer (the worker); the housekeeping
// and metrics threads read them.
struct HttpCounters {
  Counter accepted;        // connections taken into the table
  Counter refused_total;   // closed at accept: the total connection cap
  Counter refused_source;  // closed at accept: the per-source cap
  Counter accept_errors;   // accept failed (e.g. out of file descriptors)
  // Responses by status class: [0] 2xx, [1] 4xx, [2] 5xx and others.
  std::array<Counter, 3> responses;
  std::array<Counter, static_cast<size_t>(HttpCloseReason::kCount)> closes;
  Counter bytes_in;
  Counter bytes_out;
  // Connections open on this worker now (written by its table only).
  std::atomic<int64_t> open{0};
};

struct HttpLimits {
  uint32_t max_requests = 10000;  // per connection
};

// What the machine needs from its worker: the responder, the buffer pools
// and the limits. Immutable while connections use it.
struct HttpConnContext {
  HttpResponder* responder = nullptr;
  HttpBufferPool* in_small_pool = nullptr;  // buffers of kHttpRecvBytes
  HttpBufferPool* in_pool = nullptr;        // buffers of kHttpMaxHeadBytes
  HttpBufferPool* out_pool = nullptr;  // buffers of kHttpOutBufferBytes
  HttpLimits limits;
  http::HeadLimits head_limits;
  HttpCounters* counters = nullptr;
};

class HttpConn {
 public:
  enum class Next : uint8_t {
    kRecv,   // receive more (into RecvSpace() if it is not empty)
    kSend,   // send Pending()
    kClose,  // close now; close_reason() says why
  };
  // Which time limit applies now (the table keeps the deadlines).
  enum class Wait : uint8_t { kHead, kIdle, kSend };

  HttpConn() = default;
  ~HttpConn() { Release(); }
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  // A new connection from `peer`; gives back any buffers held.
  void Reset(const HttpConnContext* ctx, const PeerEndpoint& peer);
  // Gives the buffers back to the pools.
  void Release();

  // Where the next receive should land: the free tail of this connection's
  // input buffer while it holds part of a head; empty otherwise (receive
  // into a shared buffer and call OnReceived()).
  std::span<uint8_t> RecvSpace();
  // `data` came in a shared buffer (RecvSpace() was empty); it is not
  // used after the call returns. Empty `data`: the peer closed.
  Next OnReceived(std::span<const uint8_t> data);
  // `n` bytes landed in RecvSpace(); 0: the peer closed.
  Next OnReceivedInPlace(size_t n);
  // The bytes to send (after Next::kSend).
  std::span<const uint8_t> Pending() const {
    return {out_ + out_sent_, out_len_ - out_sent_};
  }
  // The kernel took `n` bytes of Pending().
  Next OnSent(size_t n);

  Wait wait() const { return wait_; }
  HttpCloseReason close_reason() const { return reason_; }
  const PeerEndpoint& peer() const { return peer_; }
  uint32_t requests() const { return requests_; }
  // True iff the connection holds a partial head or unanswered requests.
  bool has_input() const { return in_len_ > 0; }

 private:
  // Answers every whole head in `data` while the output buffer has room
  // for another reply; keeps the rest (copied into the input buffer).
  Next Process(std::span<const uint8_t> data);
  // Keeps `rest` as this connection's input (it is at most
  // kHttpMaxHeadBytes), in a buffer that holds it. False: no buffer.
  bool KeepInput(std::span<const uint8_t> rest);
  // Gives the input buffer back.
  void DropInputBuffer();
  Next Close(HttpCloseReason why) {
    reason_ = why;
    return Next::kClose;
  }
  // Queues the responder's reply to a head FindHead() refused with
  // `status`, and closing after it.
  Next Refuse(uint16_t status);
  Next AfterProcessing();

  const HttpConnContext* ctx_ = nullptr;
  PeerEndpoint peer_;
  // in_cap_ bytes: kHttpRecvBytes from ctx_->in_small_pool, or
  // kHttpMaxHeadBytes from ctx_->in_pool; 0 without a buffer.
  uint8_t* in_ = nullptr;
  size_t in_cap_ = 0;
  size_t in_len_ = 0;
  uint8_t* out_ = nullptr;  // kHttpOutBufferBytes, from ctx_->out_pool
  size_t out_len_ = 0;
  size_t out_sent_ = 0;
  uint32_t requests_ = 0;
  bool closing_ = false;  // close once the output is sent
  HttpCloseReason reason_ = HttpCloseReason::kPeerClosed;
  Wait wait_ = Wait::kHead;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_HTTP_CONN_H_
