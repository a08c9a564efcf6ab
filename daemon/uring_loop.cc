#include "daemon/uring_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>

#include <cstring>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/io/batch_io.h"
#include "daemon/pktinfo.h"

namespace ringtrack {
namespace {

// The multishot recvmsg writes an io_uring_recvmsg_out header, the source
// address and the control message into each provided buffer before the
// payload: room for all three, then kRecvPayloadSize bytes of payload, the
// same as the recvmmsg loop keeps. Buffers lie kRecvBufferStride apart
// (whole cache lines, so each starts on one: 2 176 bytes).
constexpr size_t kRecvNameSpace = CMSG_ALIGN(sizeof(sockaddr_in6));
constexpr size_t kRecvBufferSize = sizeof(io_uring_recvmsg_out) +
                                   kRecvNameSpace + kPktInfoSpace +
                                   kRecvPayloadSize;
constexpr size_t kCacheLine = 64;
constexpr size_t kRecvBufferStride =
    (kRecvBufferSize + kCacheLine - 1) / kCacheLine * kCacheLine;
constexpr long kWaitTimeoutNs = 200'000'000;  // bounds the time to see a stop
// Under load: wait for this many completions, or kBusyWaitNs, whichever
// comes first. 50 µs of added latency at most, and only while busy.
constexpr unsigned kBusyBatch = 32;
constexpr long kBusyWaitNs = 50'000;

// Replies go out with one sendmmsg per this many (and at the end of every
// batch of completions).
constexpr int kSendBatch = 64;

// user_data layout: [type:8][generation:24][index:32]. The index is a UDP
// socket's, an HTTP listener's or an HTTP connection's slot; the
// generation (connections only) tells a completion for a slot's earlier
// connection from one for its current connection.
enum class OpType : uint64_t {
  kRecv = 1,
  kCancel = 3,
  kAccept = 4,
  kHttpRecv = 5,         // into a provided buffer of the HTTP group
  kHttpRecvInPlace = 6,  // into the connection's own input buffer
  kHttpSend = 7,
};
inline uint64_t EncodeUserData(OpType t, size_t index, uint32_t gen = 0) {
  return (static_cast<uint64_t>(t) << 56) |
         (uint64_t{gen & 0xffffff} << 32) | (index & 0xffffffff);
}
inline OpType DecodeType(uint64_t ud) { return static_cast<OpType>(ud >> 56); }
inline size_t DecodeSocket(uint64_t ud) { return ud & 0xffffffff; }
inline uint32_t DecodeGeneration(uint64_t ud) { return (ud >> 32) & 0xffffff; }

// HTTP receive buffers: kHttpRecvBytes each, shared by every connection
// of the worker (a receive holds one only until its bytes are handled,
// the same turn). 512 KiB per worker.
constexpr unsigned kHttpRecvBuffers = 256;
// How long a listener rests after a failed accept.
constexpr int64_t kAcceptPauseMs = 100;

absl::Status UringError(int neg_errno, const char* what) {
  return absl::ErrnoToStatus(-neg_errno, what);
}

// Owns an anonymous mapping.
struct Mapping {
  void* addr = MAP_FAILED;
  size_t bytes = 0;
  bool Map(size_t n) {
    bytes = n;
    addr = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                -1, 0);
    return addr != MAP_FAILED;
  }
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, bytes);
  }
};

}  // namespace

struct UringLoop::Socket {
  int fd = -1;
  uint16_t bgid = 0;
  unsigned entries = 0;
  Mapping ring_mem;  // the io_uring_buf_ring shared with the kernel
  Mapping buffers;   // entries × kRecvBufferStride
  // Replies waiting for the next sendmmsg; each names its destination by
  // pointing into the receive buffer it answers, which is recycled only
  // after the flush (the buffer ids in held).
  SendBatch out{kSendBatch, kMaxUdpReplySize, kPktInfoSpace};
  std::vector<uint16_t> held;
  int next_reply = 0;  // the next out.buffer_at() a pending datagram takes
  msghdr recv_msg{};  // the multishot template: name and control sizes
  int to_recycle = 0;
  bool needs_arm = false;
  bool registered = false;

  io_uring_buf_ring* br() {
    return static_cast<io_uring_buf_ring*>(ring_mem.addr);
  }
  uint8_t* buffer(uint16_t bid) {
    return static_cast<uint8_t*>(buffers.addr) +
           size_t{bid} * kRecvBufferStride;
  }
};

struct UringLoop::Http {
  Http(HttpShared* shared, HttpResponder* responder, HttpCounters* counters)
      : table(shared, responder, counters) {}
  std::vector<int> listeners;
  std::vector<bool> accept_armed;
  // After a failed accept (out of descriptors, say) the listener is
  // re-armed only from this time on: a failure that repeats at once
  // must not turn the loop into a spin.
  std::vector<int64_t> accept_retry_ms;
  HttpConnTable table;
  uint16_t bgid = 0;
  Mapping ring_mem;
  Mapping buffers;  // kHttpRecvBuffers × kHttpRecvBytes
  bool registered = false;
  int to_recycle = 0;
  // Connections whose next step found no SQE (or no buffer): retried next
  // turn, by slot and generation.
  std::vector<std::pair<uint32_t, uint32_t>> retry;
  io_uring_buf_ring* br() {
    return static_cast<io_uring_buf_ring*>(ring_mem.addr);
  }
};

absl::Status ProbeUring() {
  io_uring ring;
  int r = io_uring_queue_init(8, &ring, 0);
  if (r < 0) return UringError(r, "io_uring_queue_init");
  Mapping mem;
  if (!mem.Map(4096)) {
    io_uring_queue_exit(&ring);
    return absl::ResourceExhaustedError("mmap for buffer ring");
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem.addr);
  reg.ring_entries = 8;
  reg.bgid = 0;
  r = io_uring_register_buf_ring(&ring, &reg, 0);
  io_uring_queue_exit(&ring);
  if (r < 0) return UringError(r, "io_uring_register_buf_ring");
  return absl::OkStatus();
}

UringLoop::UringLoop(const UringOptions& options, WorkerCore* core)
    : options_(options), core_(core) {}

absl::StatusOr<std::unique_ptr<UringLoop>> UringLoop::Create(
    const std::vector<int>& fds, const std::vector<int>& http_listeners,
    const UringOptions& options, WorkerCore* core) {
  std::unique_ptr<UringLoop> loop(new UringLoop(options, core));
  if (absl::Status s = loop->SetUpRing(fds.size()); !s.ok()) return s;
  // Socket i is fds[i]: SQEs name it by its index in the registered files.
  for (size_t i = 0; i < fds.size(); ++i) {
    if (absl::Status s = loop->AddSocket(fds[i]); !s.ok()) return s;
  }
  // Registered files spare the kernel an fd lookup and reference count per
  // operation; SQEs then name socket i by its index.
  const int r = io_uring_register_files(&loop->ring_, fds.data(),
                                        static_cast<unsigned>(fds.size()));
  if (r < 0) return UringError(r, "io_uring_register_files");
  if (!http_listeners.empty()) {
    if (absl::Status h = loop->SetUpHttp(http_listeners); !h.ok()) return h;
  }
  return loop;
}

absl::Status UringLoop::SetUpRing(size_t sockets) {
  // A receive completion per buffer can be outstanding on each socket.
  const size_t need =
      size_t{options_.buffers_per_socket} * sockets + options_.sq_entries;
  while (options_.cq_entries < need) options_.cq_entries *= 2;
  // HTTP completions (one per connection at most) beyond this wait in the
  // kernel's overflow list (IORING_FEAT_NODROP), never lost.
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = options_.cq_entries;
  int r = io_uring_queue_init_params(options_.sq_entries, &ring_, &p);
  if (r == -EINVAL) {  // kernel older than 6.1: no DEFER_TASKRUN
    p = {};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
    p.cq_entries = options_.cq_entries;
    r = io_uring_queue_init_params(options_.sq_entries, &ring_, &p);
  }
  if (r < 0) return UringError(r, "io_uring_queue_init_params");
  ring_ready_ = true;
  return absl::OkStatus();
}

absl::Status UringLoop::AddSocket(int fd) {
  auto s = std::make_unique<Socket>();
  s->fd = fd;
  s->held.reserve(kSendBatch);
  pending_.reserve(pending_.capacity() + kSendBatch);
  batch_.reserve(batch_.capacity() + kSendBatch);
  s->bgid = static_cast<uint16_t>(sockets_.size());
  s->entries = options_.buffers_per_socket;
  if (!s->ring_mem.Map(s->entries * sizeof(io_uring_buf)) ||
      !s->buffers.Map(size_t{s->entries} * kRecvBufferStride)) {
    return absl::ResourceExhaustedError("mmap for receive buffers");
  }
  // Touch every buffer now so the resident size does not grow under load.
  std::memset(s->buffers.addr, 0, s->buffers.bytes);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(s->ring_mem.addr);
  reg.ring_entries = s->entries;
  reg.bgid = s->bgid;
  const int r = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (r < 0) return UringError(r, "io_uring_register_buf_ring");
  s->registered = true;
  io_uring_buf_ring_init(s->br());
  const int mask = io_uring_buf_ring_mask(s->entries);
  for (unsigned i = 0; i < s->entries; ++i) {
    io_uring_buf_ring_add(s->br(), s->buffer(static_cast<uint16_t>(i)),
                          kRecvBufferSize, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(s->br(), static_cast<int>(s->entries));
  // Rounded up so the control message after the name is aligned.
  s->recv_msg.msg_namelen = kRecvNameSpace;
  // Room for IP_PKTINFO; the kernel writes it only on wildcard sockets.
  s->recv_msg.msg_controllen = kPktInfoSpace;
  s->needs_arm = true;
  sockets_.push_back(std::move(s));
  return absl::OkStatus();
}

void UringLoop::CancelAll() {
  // Cancel the multishot receives (and any send still queued) and reap
  // their completions, so no request holds a socket once we return.
  io_uring_sqe* sqe = GetSqe();
  if (sqe != nullptr) {
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, EncodeUserData(OpType::kCancel, 0));
  }
  for (int i = 0; i < 20; ++i) {  // at most ~200 ms
    __kernel_timespec ts{0, 10'000'000};
    io_uring_cqe* cqe = nullptr;
    const int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    unsigned head, count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) { ++count; }
    io_uring_cq_advance(&ring_, count);
    if (r == -ETIME && count == 0) break;  // quiet: nothing left in flight
  }
}

UringLoop::~UringLoop() {
  if (!ring_ready_) return;
  if (http_ && http_->registered) {
    io_uring_unregister_buf_ring(&ring_, http_->bgid);
  }
  // Registered files keep the sockets alive until the ring's (asynchronous)
  // teardown; unregistering first lets the port be reused at once.
  io_uring_unregister_files(&ring_);
  for (auto& s : sockets_) {
    if (s->registered) io_uring_unregister_buf_ring(&ring_, s->bgid);
  }
  io_uring_queue_exit(&ring_);
}

io_uring_sqe* UringLoop::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  // SQ full: flush it once. If the kernel took nothing (it is short of
  // memory, or returned an error), the caller gives up this operation.
  if (io_uring_submit(&ring_) <= 0) {
    core_->io.sq_full.Add();
    return nullptr;
  }
  return io_uring_get_sqe(&ring_);
}

void UringLoop::CountOverflow() {
  // The kernel counts completions it could not post (only possible if the
  // CQ were smaller than Create() makes it).
  const unsigned now = *ring_.cq.koverflow;
  if (now != last_overflow_) {
    core_->io.cq_overflows.Add(now - last_overflow_);
    last_overflow_ = now;
  }
}

void UringLoop::ArmRecv(size_t i) {
  Socket& s = *sockets_[i];
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;  // still needs_arm: the next turn retries
  // MSG_TRUNC: the header's payloadlen is the datagram's whole length,
  // also when only kRecvPayloadSize bytes of it fit.
  io_uring_prep_recvmsg_multishot(sqe, static_cast<int>(i), &s.recv_msg,
                                  MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
  sqe->buf_group = s.bgid;
  io_uring_sqe_set_data64(sqe, EncodeUserData(OpType::kRecv, i));
  s.needs_arm = false;
}

void UringLoop::RecycleBuffer(Socket& s, uint16_t bid) {
  io_uring_buf_ring_add(s.br(), s.buffer(bid), kRecvBufferSize, bid,
                        io_uring_buf_ring_mask(s.entries), s.to_recycle++);
}

void UringLoop::ProcessRecv(size_t i, const io_uring_cqe* cqe) {
  Socket& s = *sockets_[i];
  if (!(cqe->flags & IORING_CQE_F_MORE)) s.needs_arm = true;
  if (cqe->res < 0) {
    if (cqe->res == -ENOBUFS) {
      core_->io.no_buffers.Add();
    } else {
      core_->io.recv_errors.Add();
    }
    return;
  }
  if (!(cqe->flags & IORING_CQE_F_BUFFER)) return;
  const uint16_t bid =
      static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t* buf = s.buffer(bid);
  io_uring_recvmsg_out* o =
      io_uring_recvmsg_validate(buf, cqe->res, &s.recv_msg);
  if (o == nullptr) {  // shorter than its own header: not a datagram
    core_->io.recv_errors.Add();
    RecycleBuffer(s, bid);
    return;
  }
  auto* payload =
      static_cast<const uint8_t*>(io_uring_recvmsg_payload(o, &s.recv_msg));
  const unsigned len =
      io_uring_recvmsg_payload_length(o, cqe->res, &s.recv_msg);
  // A datagram cut to the buffer is answered from what it kept.
  if (o->flags & MSG_TRUNC) core_->io.truncated.Add();
  auto* name = static_cast<sockaddr*>(io_uring_recvmsg_name(o));
  const socklen_t name_len =
      std::min<socklen_t>(o->namelen, s.recv_msg.msg_namelen);
  if (s.next_reply == s.out.capacity()) {
    // Every reply buffer of this socket is taken: answer what is pending
    // and send it.
    HandlePending();
    FlushReplies(s);
  }
  pending_.push_back({i, bid, o});
  batch_.push_back({.data = {payload, len},
                    .from = name,
                    .from_len = name_len,
                    .reply = s.out.buffer_at(s.next_reply++),
                    .wire_size = o->payloadlen});
}

void UringLoop::HandlePending() {
  core_->HandleBatch(std::span(batch_));
  for (size_t j = 0; j < batch_.size(); ++j) {
    const Pending& p = pending_[j];
    const WorkerCore::Datagram& d = batch_[j];
    Socket& s = *sockets_[p.socket];
    if (d.reply_size == 0) {
      RecycleBuffer(s, p.bid);
      continue;
    }
    size_t control_len = 0;
    for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(p.out, &s.recv_msg);
         c != nullptr;
         c = io_uring_recvmsg_cmsg_nexthdr(p.out, &s.recv_msg, c)) {
      control_len = ReplyControlFrom(c, s.out.control());
      if (control_len > 0) break;
    }
    s.out.Push(d.reply.first(d.reply_size), d.from, d.from_len, control_len);
    s.held.push_back(p.bid);
  }
  pending_.clear();
  batch_.clear();
}

void UringLoop::FlushReplies(Socket& s) {
  s.next_reply = 0;
  const int m = s.out.size();
  if (m == 0) return;
  const SendBatch::Outcome o = s.out.Flush(s.fd, MSG_DONTWAIT);
  core_->io.sent.Add(o.sent);
  core_->io.send_errors.Add(o.failed + (m - o.first_unsent));
  for (uint16_t bid : s.held) RecycleBuffer(s, bid);
  s.held.clear();
}

void UringLoop::ProcessCqe(const io_uring_cqe* cqe) {
  const uint64_t ud = cqe->user_data;
  const size_t i = DecodeSocket(ud);
  switch (DecodeType(ud)) {
    case OpType::kAccept:
      ProcessAccept(i, cqe);
      return;
    case OpType::kHttpRecv:
    case OpType::kHttpRecvInPlace:
    case OpType::kHttpSend:
      ProcessHttp(cqe);
      return;
    default:
      break;
  }
  if (i >= sockets_.size()) return;
  switch (DecodeType(ud)) {
    case OpType::kRecv:
      ProcessRecv(i, cqe);
      break;
    case OpType::kCancel:
    default:
      break;
  }
}

absl::Status UringLoop::SetUpHttp(const std::vector<int>& listeners) {
  http_ = std::make_unique<Http>(core_->http_shared(), core_->http_responder(),
                                 &core_->http);
  Http& h = *http_;
  h.listeners = listeners;
  h.accept_armed.assign(listeners.size(), false);
  h.accept_retry_ms.assign(listeners.size(), 0);
  h.bgid = static_cast<uint16_t>(sockets_.size());
  if (!h.ring_mem.Map(kHttpRecvBuffers * sizeof(io_uring_buf)) ||
      !h.buffers.Map(size_t{kHttpRecvBuffers} * kHttpRecvBytes)) {
    return absl::ResourceExhaustedError("mmap for HTTP receive buffers");
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(h.ring_mem.addr);
  reg.ring_entries = kHttpRecvBuffers;
  reg.bgid = h.bgid;
  const int r = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (r < 0) return UringError(r, "io_uring_register_buf_ring (http)");
  h.registered = true;
  io_uring_buf_ring_init(h.br());
  const int mask = io_uring_buf_ring_mask(kHttpRecvBuffers);
  for (unsigned i = 0; i < kHttpRecvBuffers; ++i) {
    io_uring_buf_ring_add(h.br(), http_buffer(static_cast<uint16_t>(i)),
                          kHttpRecvBytes, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(h.br(), kHttpRecvBuffers);
  return absl::OkStatus();
}

uint8_t* UringLoop::http_buffer(uint16_t bid) {
  return static_cast<uint8_t*>(http_->buffers.addr) +
         size_t{bid} * kHttpRecvBytes;
}

void UringLoop::RecycleHttpBuffer(uint16_t bid) {
  io_uring_buf_ring_add(http_->br(), http_buffer(bid), kHttpRecvBytes, bid,
                        io_uring_buf_ring_mask(kHttpRecvBuffers),
                        http_->to_recycle++);
}

void UringLoop::ArmAccept(size_t l) {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;  // still unarmed: the next turn retries
  io_uring_prep_multishot_accept(sqe, http_->listeners[l], nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, EncodeUserData(OpType::kAccept, l));
  http_->accept_armed[l] = true;
}

void UringLoop::ProcessAccept(size_t l, const io_uring_cqe* cqe) {
  if (!http_ || l >= http_->listeners.size()) {
    if (cqe->res >= 0) close(cqe->res);
    return;
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) http_->accept_armed[l] = false;
  if (cqe->res < 0) {
    // Out of file descriptors and the like: counted; the multishot ends
    // and is re-armed next turn (at most one try per turn, never a spin).
    if (cqe->res != -ECANCELED) {
      core_->http.accept_errors.Add();
      http_->accept_retry_ms[l] = now_ms_ + kAcceptPauseMs;
    }
    return;
  }
  const uint32_t i = http_->table.Add(UniqueFd(cqe->res), now_ms_);
  if (i == HttpConnTable::kNone) return;
  DriveHttp(i, HttpConn::Next::kRecv);
}

void UringLoop::DriveHttp(uint32_t i, HttpConn::Next next) {
  HttpConnTable& t = http_->table;
  HttpConn& c = t.conn(i);
  if (next == HttpConn::Next::kClose) {
    t.Close(i, c.close_reason());
    return;
  }
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) {
    http_->retry.emplace_back(i, t.generation(i));
    return;
  }
  const uint32_t gen = t.generation(i);
  if (next == HttpConn::Next::kSend) {
    const std::span<const uint8_t> p = c.Pending();
    io_uring_prep_send(sqe, t.fd(i), p.data(), p.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, EncodeUserData(OpType::kHttpSend, i, gen));
  } else if (const std::span<uint8_t> space = c.RecvSpace(); !space.empty()) {
    io_uring_prep_recv(sqe, t.fd(i), space.data(), space.size(), 0);
    io_uring_sqe_set_data64(sqe,
                            EncodeUserData(OpType::kHttpRecvInPlace, i, gen));
  } else {
    io_uring_prep_recv(sqe, t.fd(i), nullptr, kHttpRecvBytes, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = http_->bgid;
    io_uring_sqe_set_data64(sqe, EncodeUserData(OpType::kHttpRecv, i, gen));
  }
  t.set_in_flight(i, true);
  t.Arm(i, now_ms_);
}

void UringLoop::ProcessHttp(const io_uring_cqe* cqe) {
  const uint64_t ud = cqe->user_data;
  const OpType type = DecodeType(ud);
  const uint32_t i = static_cast<uint32_t>(DecodeSocket(ud));
  const bool has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
  const uint16_t bid =
      static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  if (!http_) return;
  HttpConnTable& t = http_->table;
  if (!t.live(i) || (t.generation(i) & 0xffffff) != DecodeGeneration(ud)) {
    // The connection this was for is closed.
    if (has_buffer) RecycleHttpBuffer(bid);
    return;
  }
  t.set_in_flight(i, false);
  HttpConn& c = t.conn(i);
  const int res = cqe->res;
  if (res < 0) {
    if (has_buffer) RecycleHttpBuffer(bid);
    if (res == -ENOBUFS || res == -EAGAIN || res == -EINTR) {
      // Every shared buffer was taken this turn: try again next turn.
      http_->retry.emplace_back(i, t.generation(i));
      return;
    }
    t.Close(i, res == -ECONNRESET || res == -EPIPE
                   ? HttpCloseReason::kPeerClosed
                   : HttpCloseReason::kIoError);
    return;
  }
  HttpConn::Next next;
  switch (type) {
    case OpType::kHttpSend:
      next = c.OnSent(static_cast<size_t>(res));
      break;
    case OpType::kHttpRecvInPlace:
      next = c.OnReceivedInPlace(static_cast<size_t>(res));
      break;
    default:  // kHttpRecv
      if (res > 0 && !has_buffer) {
        t.Close(i, HttpCloseReason::kIoError);
        return;
      }
      next = c.OnReceived({has_buffer ? http_buffer(bid) : nullptr,
                           static_cast<size_t>(res)});
      if (has_buffer) RecycleHttpBuffer(bid);  // OnReceived copied the rest
      break;
  }
  DriveHttp(i, next);
}

void UringLoop::Run() {
  unsigned last_batch = 0;
  while (!core_->stopping()) {
    now_ms_ = MonotonicMs();
    for (size_t i = 0; i < sockets_.size(); ++i) {
      if (sockets_[i]->needs_arm) ArmRecv(i);
    }
    if (http_) {
      for (size_t l = 0; l < http_->listeners.size(); ++l) {
        if (!http_->accept_armed[l] && now_ms_ >= http_->accept_retry_ms[l]) {
          ArmAccept(l);
        }
      }
      std::vector<std::pair<uint32_t, uint32_t>> retry;
      retry.swap(http_->retry);
      for (const auto& [i, gen] : retry) {
        if (http_->table.live(i) && http_->table.generation(i) == gen) {
          DriveHttp(i, http_->table.conn(i).Pending().empty()
                           ? HttpConn::Next::kRecv
                           : HttpConn::Next::kSend);
        }
      }
      http_->table.Expire(now_ms_);
    }
    // One syscall submits the previous batch's sends and waits for more.
    // Under load, wait for a batch (bounded by kBusyWaitNs) so that each
    // syscall carries many datagrams; when idle, sleep on one completion.
    const bool busy = last_batch >= kBusyBatch;
    __kernel_timespec ts{0, busy ? kBusyWaitNs : kWaitTimeoutNs};
    io_uring_cqe* first = nullptr;
    // Offline while blocked: a reload need not wait for traffic.
    core_->Offline();
    io_uring_submit_and_wait_timeout(&ring_, &first, busy ? kBusyBatch : 1, &ts,
                                     nullptr);
    core_->Online();
    unsigned head, count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ProcessCqe(cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    last_batch = count;
    CountOverflow();
    HandlePending();
    for (auto& s : sockets_) {
      FlushReplies(*s);
      if (s->to_recycle > 0) {
        io_uring_buf_ring_advance(s->br(), s->to_recycle);
        s->to_recycle = 0;
      }
    }
    if (http_ && http_->to_recycle > 0) {
      io_uring_buf_ring_advance(http_->br(), http_->to_recycle);
      http_->to_recycle = 0;
    }
  }
  core_->Offline();
  CancelAll();
}

}  // namespace ringtrack
