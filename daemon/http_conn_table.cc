#include "daemon/http_conn_table.h"

#include <sys/socket.h>
#include <time.h>

namespace ringtrack {

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

HttpConnTable::HttpConnTable(HttpShared* shared, HttpResponder* responder,
                             HttpCounters* counters)
    : shared_(shared), counters_(counters) {
  ctx_.responder = responder;
  ctx_.in_small_pool = &in_small_pool_;
  ctx_.in_pool = &in_pool_;
  ctx_.out_pool = &out_pool_;
  ctx_.counters = counters;
}

HttpConnTable::~HttpConnTable() {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].fd.valid()) Close(i, HttpCloseReason::kShutdown);
  }
}

uint32_t HttpConnTable::Add(UniqueFd fd, int64_t now_ms) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  PeerEndpoint peer;
  if (getpeername(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      !ToEndpoint(reinterpret_cast<sockaddr*>(&ss), len, &peer)) {
    counters_->accept_errors.Add();  // reset before we looked at it
    return kNone;
  }
  switch (shared_->admission->TryAdmit(peer)) {
    case HttpAdmission::Verdict::kAdmitted:
      break;
    case HttpAdmission::Verdict::kTotalCap:
      counters_->refused_total.Add();
      return kNone;
    case HttpAdmission::Verdict::kSourceCap:
      counters_->refused_source.Add();
      return kNone;
  }
  uint32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    i = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[i];
  s.fd = std::move(fd);
  s.in_flight = false;
  s.armed_requests = 0;
  ctx_.limits.max_requests =
      shared_->max_requests.load(std::memory_order_relaxed);
  s.conn.Reset(&ctx_, peer);
  ++open_;
  counters_->accepted.Add();
  counters_->open.store(static_cast<int64_t>(open_), std::memory_order_relaxed);
  s.queue = kNoQueue;
  Arm(i, now_ms);
  return i;
}

void HttpConnTable::Unlink(uint32_t i) {
  Slot& s = slots_[i];
  if (s.queue == kNoQueue) return;
  Queue& q = queues_[s.queue];
  if (s.prev != kNone) slots_[s.prev].next = s.next; else q.head = s.next;
  if (s.next != kNone) slots_[s.next].prev = s.prev; else q.tail = s.prev;
  s.prev = s.next = kNone;
  s.queue = kNoQueue;
}

void HttpConnTable::Append(uint32_t i, uint8_t qi) {
  Slot& s = slots_[i];
  Queue& q = queues_[qi];
  s.queue = qi;
  s.prev = q.tail;
  s.next = kNone;
  if (q.tail != kNone) slots_[q.tail].next = i; else q.head = i;
  q.tail = i;
}

void HttpConnTable::Arm(uint32_t i, int64_t now_ms) {
  Slot& s = slots_[i];
  const uint8_t q = static_cast<uint8_t>(s.conn.wait());
  // A head keeps the deadline its first byte (or the accept) started:
  // trickling more of it buys no time. A head that follows an answered
  // request is a new one (pipelining on the epoll path answers without
  // passing through kSend), so it gets its own deadline.
  if (s.queue == q) {
    if (q == static_cast<uint8_t>(HttpConn::Wait::kHead) &&
        s.conn.requests() == s.armed_requests) {
      return;
    }
    if (q == static_cast<uint8_t>(HttpConn::Wait::kSend)) return;
  }
  s.armed_requests = s.conn.requests();
  Unlink(i);
  uint32_t timeout = 0;
  switch (s.conn.wait()) {
    case HttpConn::Wait::kHead:
      timeout = shared_->head_timeout_ms.load(std::memory_order_relaxed);
      break;
    case HttpConn::Wait::kIdle:
      timeout = shared_->idle_timeout_ms.load(std::memory_order_relaxed);
      break;
    case HttpConn::Wait::kSend:
      timeout = shared_->send_timeout_ms.load(std::memory_order_relaxed);
      break;
  }
  s.deadline_ms = now_ms + timeout;
  Append(i, q);
}

void HttpConnTable::Close(uint32_t i, HttpCloseReason why) {
  Slot& s = slots_[i];
  if (!s.fd.valid()) return;
  Unlink(i);
  if (why == HttpCloseReason::kResponseClose ||
      why == HttpCloseReason::kRequestLimit ||
      why == HttpCloseReason::kBadRequest ||
      why == HttpCloseReason::kHeadTooLarge ||
      why == HttpCloseReason::kTooManyHeaders) {
    // We close after a reply. Closing with unread input makes the kernel
    // send RST, which can destroy that reply at the client (RFC 9112
    // §9.6). Read what has already arrived (bounded; usually nothing, one
    // EAGAIN) so the close is a FIN; bytes that arrive later still meet a
    // reset.
    uint8_t sink[4096];
    for (int k = 0; k < 16; ++k) {
      if (recv(s.fd.get(), sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
    }
  }
  // An io_uring receive in flight holds the socket open past close():
  // shutdown() ends the connection now and completes that receive.
  if (s.in_flight) shutdown(s.fd.get(), SHUT_RDWR);
  s.fd.reset();
  s.in_flight = false;
  shared_->admission->Leave(s.conn.peer());
  s.conn.Release();
  ++s.generation;
  free_.push_back(i);
  --open_;
  counters_->closes[static_cast<size_t>(why)].Add();
  counters_->open.store(static_cast<int64_t>(open_), std::memory_order_relaxed);
}

void HttpConnTable::Expire(int64_t now_ms) {
  static constexpr HttpCloseReason kWhy[3] = {HttpCloseReason::kHeadTimeout,
                                              HttpCloseReason::kIdleTimeout,
                                              HttpCloseReason::kSendTimeout};
  for (uint8_t q = 0; q < 3; ++q) {
    while (queues_[q].head != kNone &&
           slots_[queues_[q].head].deadline_ms <= now_ms) {
      Close(queues_[q].head, kWhy[q]);
    }
  }
}

}  // namespace ringtrack
