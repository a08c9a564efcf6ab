// What the io paths share: the per-worker state above the syscalls. A loop
// hands each batch of received datagrams and their source addresses to
// WorkerCore::HandleBatch() (the AF_XDP loop: each datagram to Handle())
// and sends back whatever it writes.
//
// Every loop reports quiescence (core/base/quiescence.h) so that a replaced
// access list is freed as soon as no worker can hold it: Online() before it
// handles what it received, Offline() before it blocks waiting for more
// (an idle worker is offline, so it never delays a reload), and
// Quiescent() between batches when it does not block.
//
// Thread safety: a WorkerCore belongs to one worker thread. Its counters
// are single-writer Counters, so the housekeeping thread may read them.
#ifndef RINGTRACK_DAEMON_WORKER_H_
#define RINGTRACK_DAEMON_WORKER_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "core/base/clock.h"
#include "core/base/quiescence.h"
#include "core/http/http_tracker.h"
#include "core/udp/udp_tracker.h"
#include "daemon/http_conn.h"
#include "daemon/http_conn_table.h"

namespace ringtrack {

// Bytes of each datagram the socket loops keep, on io_uring and recvmmsg
// alike. A longer datagram is cut to its first kRecvPayloadSize bytes
// (counted in IoCounters::truncated) and answered from them and its length
// on the wire (protocol::ParseRequest): every field a reply depends on lies
// within them, so it gets the reply the whole datagram would. Buffers for
// whole datagrams (64 KiB) would cost 32 times the memory, 4 MiB per socket
// per worker with io_uring's 64 buffers, to change no reply.
inline constexpr size_t kRecvPayloadSize = 2048;
static_assert(kRecvPayloadSize >= protocol::kMaxMeaningfulRequestSize);

struct IoCounters {
  Counter received;
  Counter sent;
  Counter truncated;   // datagrams longer than kRecvPayloadSize (answered)
  Counter no_buffers;  // -ENOBUFS from the multishot receive
  Counter recv_errors;
  Counter send_errors;
  Counter sq_full;       // io_uring: no SQE even after a submit (dropped)
  Counter cq_overflows;  // io_uring: completions the kernel could not post
  Counter xsk_frames;    // --io xdp: frames taken from the AF_XDP RX ring
};

// Everything a worker reads but does not own.
struct WorkerShared {
  UdpTracker* udp_tracker = nullptr;
  const CoarseClock* clock = nullptr;
  const std::atomic<bool>* stop = nullptr;
  // The workers' grace periods (each worker owns one reader slot).
  Quiescence* quiescence = nullptr;
  // The HTTP server's shared state and the tracker's HTTP front end
  // (null: no HTTP).
  HttpShared* http = nullptr;
  const HttpTracker* http_tracker = nullptr;
};

// Also the worker's HttpResponder: it answers each HTTP request head
// through the tracker's HTTP front end, with this worker's counters.
class WorkerCore final : public HttpResponder {
 public:
  // `reader`: this worker's slot in shared.quiescence.
  // REQUIRES: reader < shared.quiescence->readers().
  WorkerCore(const WorkerShared& shared, size_t reader, uint64_t seed)
      : shared_(shared), reader_(reader), rng_(seed | 1) {}

  // Quiescence (see above). Each is one store to this worker's own cache
  // line (Online() adds a fence), once per batch, never per datagram.
  void Online() { shared_.quiescence->Online(reader_); }
  void Offline() { shared_.quiescence->Offline(reader_); }
  void Quiescent() { shared_.quiescence->Quiescent(reader_); }

  // Returns the reply size written into `reply` (0: send nothing).
  // REQUIRES: reply.size() >= kMaxUdpReplySize.
  size_t Handle(std::span<const uint8_t> datagram, const sockaddr* from,
                socklen_t from_len, std::span<uint8_t> reply);

  // One received datagram for HandleBatch(): where it is, who sent it, and
  // the buffer its reply goes to.
  struct Datagram {
    std::span<const uint8_t> data;
    const sockaddr* from = nullptr;
    socklen_t from_len = 0;
    std::span<uint8_t> reply;  // REQUIRES: size() >= kMaxUdpReplySize
    size_t reply_size = 0;     // out: as Handle() returns
    // Its length on the wire, if `data` is only its first bytes (a cut
    // datagram); not larger than data.size(): whole.
    size_t wire_size = 0;
  };
  // Handle() on every datagram of `batch`, in order, with the swarm
  // lookups of its announces overlapped (UdpTracker::HandleBatch).
  void HandleBatch(std::span<Datagram> batch);
  bool stopping() const {
    return shared_.stop->load(std::memory_order_relaxed);
  }

  HttpResponse Respond(std::span<const uint8_t> head, const PeerEndpoint& from,
                       bool must_close, std::span<uint8_t> out) override;
  HttpResponse Refuse(uint16_t status, const PeerEndpoint& from,
                      std::span<uint8_t> out) override;
  HttpShared* http_shared() const { return shared_.http; }
  // What answers this worker's HTTP requests: the shared responder when
  // one is set (a fixed reply), else this worker (the tracker).
  HttpResponder* http_responder() {
    return shared_.http != nullptr && shared_.http->responder != nullptr
               ? shared_.http->responder
               : this;
  }

  UdpStats stats;
  IoCounters io;
  HttpCounters http;
  HttpStats http_stats;  // the tracker's counts of HTTP requests

 private:
  uint64_t NextRandom() {  // xorshift64*: cheap, only varies peer order
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1DULL;
  }

  const WorkerShared shared_;
  const size_t reader_;
  uint64_t rng_;
  // HandleBatch()'s scratch: the tracker's items and their datagrams.
  std::vector<UdpTracker::BatchItem> items_;
  std::vector<size_t> item_of_;
};

// Which loop a worker runs.
enum class IoPath { kUring, kMmsg };

// Runs the recvmmsg/sendmmsg loop over `fds` until core->stopping(); the
// worker is offline when it returns.
// `http_listeners`: this worker's TCP listeners, served through epoll
// (daemon/http_epoll.h); none: no HTTP.
void RunMmsgLoop(const std::vector<int>& fds,
                 const std::vector<int>& http_listeners, WorkerCore* core);

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_WORKER_H_
