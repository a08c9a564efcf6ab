#include "daemon/http_conn.h"

#include <cassert>
#include <cstring>
#include <string_view>
#include <utility>

namespace ringtrack {
namespace {

// The replies the machine writes itself: for heads it refuses before any
// responder sees them.
constexpr std::string_view kReply431 =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: text/plain\r\nContent-Length: 24\r\n"
    "Connection: close\r\n\r\n"
    "request head too large\r\n";

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

size_t FindHeadEnd(std::span<const uint8_t> data, uint32_t* lines) {
  uint32_t n = 0;
  // A line ends at LF (a CR before it is part of the terminator); the head
  // ends at the first empty line.
  size_t line_start = 0;
  const uint8_t* p = data.data();
  const size_t size = data.size();
  size_t i = 0;
  while (i < size) {
    const void* lf = std::memchr(p + i, '\n', size - i);
    if (lf == nullptr) break;
    const size_t at = static_cast<const uint8_t*>(lf) - p;
    const size_t len = at - line_start;
    if (len == 0 || (len == 1 && p[line_start] == '\r')) {
      *lines = n;
      return at + 1;
    }
    ++n;
    line_start = at + 1;
    i = at + 1;
  }
  *lines = n;
  return 0;
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

HttpConn::Next HttpConn::Refuse(HttpCloseReason why) {
  reason_ = why;
  closing_ = true;
  in_len_ = 0;
  if (out_ == nullptr) out_ = ctx_->out_pool->Get();
  if (out_ == nullptr) return Close(HttpCloseReason::kNoBuffer);
  if (out_len_ + kReply431.size() <= kHttpOutBufferBytes) {
    std::memcpy(out_ + out_len_, kReply431.data(), kReply431.size());
    out_len_ += kReply431.size();
    ctx_->counters->responses[1].Add();
  }
  wait_ = Wait::kSend;
  return Next::kSend;
}

HttpConn::Next HttpConn::Process(std::span<const uint8_t> data) {
  while (!data.empty() && !closing_) {
    uint32_t lines = 0;
    const size_t head = FindHeadEnd(data, &lines);
    if (lines > kHttpMaxHeaderLines) {
      return Refuse(HttpCloseReason::kTooManyHeaders);
    }
    if (head == 0) {
      if (data.size() >= kHttpMaxHeadBytes) {
        return Refuse(HttpCloseReason::kHeadTooLarge);
      }
      break;  // a partial head: kept below
    }
    if (head > kHttpMaxHeadBytes) return Refuse(HttpCloseReason::kHeadTooLarge);
    if (out_ == nullptr) {
      out_ = ctx_->out_pool->Get();
      if (out_ == nullptr) return Close(HttpCloseReason::kNoBuffer);
    }
    if (kHttpOutBufferBytes - out_len_ < kHttpMaxResponseBytes) {
      break;  // no room for another reply: the rest waits for the send
    }
    ++requests_;
    const bool last = requests_ >= ctx_->limits.max_requests;
    const HttpResponse r = ctx_->responder->Respond(
        data.first(head), peer_, last,
        {out_ + out_len_, kHttpOutBufferBytes - out_len_});
    assert(r.size <= kHttpMaxResponseBytes);
    out_len_ += r.size;
    ctx_->counters->responses[StatusClass(r.status)].Add();
    data = data.subspan(head);
    if (r.close || last) {
      closing_ = true;
      reason_ = r.close && !last ? HttpCloseReason::kResponseClose
                                 : HttpCloseReason::kRequestLimit;
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
