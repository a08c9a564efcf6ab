#include "daemon/http_conn.h"

#include <cassert>
#include <cstring>
#include <string_view>
#include <utility>

namespace ringtrack {
namespace {

constexpr std::string_view kClose = "Connection: close\r\n";
constexpr std::string_view kKeepAlive = "Connection: keep-alive\r\n";

size_t StatusClass(uint16_t status) {
  if (status >= 200 && status < 300) return 0;
  if (status >= 400 && status < 500) return 1;
  return 2;
}

}  // namespace

const char* HttpCloseReasonName(HttpCloseReason r) {
  switch (r) {
    case HttpCloseReason::kPeerClosed: return "peer_closed";
    case HttpCloseReason::kResponseClose: return "response_close";
    case HttpCloseReason::kRequestLimit: return "request_limit";
    case HttpCloseReason::kBadRequest: return "bad_request";
    case HttpCloseReason::kHeadTooLarge: return "head_too_large";
    case HttpCloseReason::kTooManyHeaders: return "too_many_headers";
    case HttpCloseReason::kHeadTimeout: return "head_timeout";
    case HttpCloseReason::kIdleTimeout: return "idle_timeout";
    case HttpCloseReason::kSendTimeout: return "send_timeout";
    case HttpCloseReason::kIoError: return "io_error";
    case HttpCloseReason::kNoBuffer: return "no_buffer";
    case HttpCloseReason::kShutdown: return "shutdown";
    case HttpCloseReason::kCount: break;
  }
  return "?";
}

HttpBufferPool::~HttpBufferPool() {
  for (uint8_t* b : free_) delete[] b;
}

uint8_t* HttpBufferPool::Get() {
  if (in_use_ >= limit_) return nullptr;
  ++in_use_;
  if (free_.empty()) return new uint8_t[bytes_];
  uint8_t* b = free_.back();
  free_.pop_back();
  return b;
}

void HttpBufferPool::Put(uint8_t* b) {
  assert(in_use_ > 0);
  --in_use_;
  free_.push_back(b);
}

HttpResponse HttpResponder::Refuse(uint16_t status, const PeerEndpoint&,
                                   std::span<uint8_t> out) {
  const std::string_view r =
      status == 431 ? "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n"
                    : "HTTP/1.1 400 Bad Request\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n";
  std::memcpy(out.data(), r.data(), r.size());
  return {.size = r.size(), .close = true, .status = status};
}

size_t ForceClose(std::span<uint8_t> out, size_t size) {
  const std::string_view r(reinterpret_cast<const char*>(out.data()), size);
  const size_t head_end = r.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return size;
  const std::string_view head = r.substr(0, head_end + 2);
  if (head.find(kClose) != std::string_view::npos) return size;
  uint8_t* p = out.data();
  if (const size_t k = head.find(kKeepAlive); k != std::string_view::npos) {
    std::memcpy(p + k, kClose.data(), kClose.size());
    const size_t from = k + kKeepAlive.size();
    std::memmove(p + k + kClose.size(), p + from, size - from);
    return size - (kKeepAlive.size() - kClose.size());
  }
  // Before the blank line.
  const size_t at = head_end + 2;
  std::memmove(p + at + kClose.size(), p + at, size - at);
  std::memcpy(p + at, kClose.data(), kClose.size());
  return size + kClose.size();
}

void HttpConn::Reset(const HttpConnContext* ctx, const PeerEndpoint& peer) {
  Release();
  ctx_ = ctx;
  peer_ = peer;
  in_len_ = out_len_ = out_sent_ = 0;
  requests_ = 0;
  closing_ = false;
  reason_ = HttpCloseReason::kPeerClosed;
  wait_ = Wait::kHead;
}

void HttpConn::DropInputBuffer() {
  if (in_ == nullptr) return;
  (in_cap_ == kHttpMaxHeadBytes ? ctx_->in_pool : ctx_->in_small_pool)
      ->Put(std::exchange(in_, nullptr));
  in_cap_ = 0;
}

void HttpConn::Release() {
  DropInputBuffer();
  if (out_ != nullptr) ctx_->out_pool->Put(std::exchange(out_, nullptr));
  in_len_ = out_len_ = out_sent_ = 0;
}

std::span<uint8_t> HttpConn::RecvSpace() {
  if (in_len_ == 0) return {};
  if (in_len_ == in_cap_ && in_cap_ < kHttpMaxHeadBytes) {
    // The head outgrew its first buffer. (No buffer: the receive gets no
    // room, reads 0 and closes; counted as peer_closed. Rare enough.)
    const std::span<const uint8_t> had(in_, in_len_);
    if (!KeepInput(had)) return {};
  }
  return {in_ + in_len_, in_cap_ - in_len_};
}

HttpConn::Next HttpConn::OnReceived(std::span<const uint8_t> data) {
  assert(in_len_ == 0);
  if (data.empty()) return Close(HttpCloseReason::kPeerClosed);
  ctx_->counters->bytes_in.Add(data.size());
  return Process(data);
}

HttpConn::Next HttpConn::OnReceivedInPlace(size_t n) {
  assert(in_len_ > 0 && n <= in_cap_ - in_len_);
  if (n == 0) return Close(HttpCloseReason::kPeerClosed);
  ctx_->counters->bytes_in.Add(n);
  const size_t had = in_len_;
  in_len_ = 0;  // Process() reads the input from where it lies
  // (Process() may move the rest to the front of the same buffer.)
  return Process({in_, had + n});
}

bool HttpConn::KeepInput(std::span<const uint8_t> rest) {
  in_len_ = 0;
  if (rest.empty()) {
    DropInputBuffer();
    return true;
  }
  if (rest.size() > kHttpMaxHeadBytes) return false;
  // Room to receive more after it, unless it is a whole large head's worth.
  const size_t cap =
      rest.size() < kHttpRecvBytes ? kHttpRecvBytes : kHttpMaxHeadBytes;
  if (in_ == nullptr || in_cap_ < cap) {
    uint8_t* b = (cap == kHttpMaxHeadBytes ? ctx_->in_pool
                                           : ctx_->in_small_pool)->Get();
    if (b == nullptr) return false;
    std::memcpy(b, rest.data(), rest.size());  // `rest` may lie in in_
    DropInputBuffer();
    in_ = b;
    in_cap_ = cap;
  } else {
    std::memmove(in_, rest.data(), rest.size());
  }
  in_len_ = rest.size();
  return true;
}

HttpConn::Next HttpConn::Refuse(uint16_t status) {
  reason_ = status == 431 ? HttpCloseReason::kHeadTooLarge
                          : HttpCloseReason::kBadRequest;
  closing_ = true;
  in_len_ = 0;
  if (out_ == nullptr) out_ = ctx_->out_pool->Get();
  if (out_ == nullptr) return Close(HttpCloseReason::kNoBuffer);
  if (kHttpOutBufferBytes - out_len_ >= kHttpMaxResponseBytes) {
    const HttpResponse r = ctx_->responder->Refuse(
        status, peer_, {out_ + out_len_, kHttpOutBufferBytes - out_len_});
    out_len_ += r.size;
    ctx_->counters->responses[StatusClass(r.status)].Add();
  }
  return AfterProcessing();
}

HttpConn::Next HttpConn::Process(std::span<const uint8_t> data) {
  while (!data.empty() && !closing_) {
    const http::Frame frame = http::FindHead(data, ctx_->head_limits);
    if (frame.state == http::FrameState::kError) {
      return Refuse(static_cast<uint16_t>(frame.error));
    }
    if (frame.state == http::FrameState::kNeedMore) {
      if (data.size() >= kHttpMaxHeadBytes) return Refuse(431);
      break;  // a partial head: kept below
    }
    const size_t head = frame.head_size;
    if (out_ == nullptr) {
      out_ = ctx_->out_pool->Get();
      if (out_ == nullptr) return Close(HttpCloseReason::kNoBuffer);
    }
    if (kHttpOutBufferBytes - out_len_ < kHttpMaxResponseBytes) {
      break;  // no room for another reply: the rest waits for the send
    }
    ++requests_;
    const bool last = requests_ >= ctx_->limits.max_requests;
    const std::span<uint8_t> room(out_ + out_len_,
                                  kHttpOutBufferBytes - out_len_);
    HttpResponse r =
        ctx_->responder->Respond(data.first(head), peer_, last, room);
    assert(r.size <= kHttpMaxResponseBytes);
    if (last && !r.close) {
      r.size = ForceClose(room, r.size);
      r.close = true;
      r.reason = HttpCloseReason::kRequestLimit;
    }
    out_len_ += r.size;
    ctx_->counters->responses[StatusClass(r.status)].Add();
    data = data.subspan(head);
    if (r.close) {
      closing_ = true;
      reason_ = r.reason;
    }
  }
  if (closing_) {
    in_len_ = 0;  // what follows a closing reply is never answered
  } else if (!KeepInput(data)) {
    return Close(HttpCloseReason::kNoBuffer);
  }
  return AfterProcessing();
}

HttpConn::Next HttpConn::AfterProcessing() {
  if (out_len_ > out_sent_) {
    wait_ = Wait::kSend;
    return Next::kSend;
  }
  if (closing_) return Close(reason_);
  // Nothing to send: the output buffer goes back until the next reply.
  if (out_ != nullptr) {
    ctx_->out_pool->Put(std::exchange(out_, nullptr));
    out_len_ = out_sent_ = 0;
  }
  if (in_len_ == 0) DropInputBuffer();
  // A partial head runs on the head timeout; between requests, the idle one.
  wait_ = in_len_ > 0 || requests_ == 0 ? Wait::kHead : Wait::kIdle;
  return Next::kRecv;
}

HttpConn::Next HttpConn::OnSent(size_t n) {
  assert(n <= out_len_ - out_sent_);
  ctx_->counters->bytes_out.Add(n);
  out_sent_ += n;
  if (out_sent_ < out_len_) return Next::kSend;
  out_len_ = out_sent_ = 0;
  if (closing_) return Close(reason_);
  if (in_len_ > 0) {
    // Pipelined requests waited for room: answer them now.
    const size_t had = in_len_;
    in_len_ = 0;
    return Process({in_, had});
  }
  return AfterProcessing();
}

}  // namespace ringtrack
