#include "tools/load_generator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "core/hash.h"
#include "core/protocol.h"
#include "tools/zipf.h"

namespace ringtrack {
namespace {

constexpr int kBatch = 64;
constexpr size_t kMaxRequest = protocol::kScrapeRequestHeaderSize +
                               protocol::kMaxScrapeHashes * kInfoHashSize;
constexpr size_t kRecvSize = 2048;
constexpr uint32_t kHistBuckets = 1 << 17;  // 1 µs buckets up to ~131 ms
constexpr int64_t kConnectionIdTtlNs = 60'000'000'000;  // BEP 15: 1 minute
constexpr uint32_t kV4SourceBase = 0x7f010001;  // 127.1.0.1, 127.1.0.2, ...

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Makes `h` leave from IPv4 address `ip` (host order) via IP_PKTINFO.
// REQUIRES: `control` has CMSG_SPACE(sizeof(in_pktinfo)) bytes.
void SetSourceAddress(msghdr* h, uint8_t* control, uint32_t ip) {
  h->msg_control = control;
  h->msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
  cmsghdr* c = CMSG_FIRSTHDR(h);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo pi{};
  pi.ipi_spec_dst.s_addr = htonl(ip);
  std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

struct Source {
  uint32_t ip_v4 = 0;  // host order; 0 for IPv6 (always ::1)
  uint64_t connection_id = 0;
  int64_t connected_ns = -1;     // -1: no ID yet
  int64_t connect_sent_ns = -1;  // a refresh is in flight since then
};

struct Slot {
  bool busy = false;
  uint16_t generation = 0;
  RequestType type = kConnectReq;
  uint32_t source = 0;
  int64_t sent_ns = 0;
};

// All per-thread buffers, in one allocation.
struct ThreadBuffers {
  explicit ThreadBuffers(uint32_t window)
      : slots(window), requests(window), free(window) {}
  std::vector<Slot> slots;
  std::vector<std::array<uint8_t, kMaxRequest>> requests;
  std::vector<uint32_t> free;  // stack of free slot indexes
  std::array<mmsghdr, kBatch> send{};
  std::array<iovec, kBatch> send_iov{};
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(in6_pktinfo))>, kBatch>
      control{};
  std::array<uint32_t, kBatch> send_slot{};
  std::array<mmsghdr, kBatch> recv{};
  std::array<iovec, kBatch> recv_iov{};
  std::array<std::array<uint8_t, kRecvSize>, kBatch> recv_data{};
};

}  // namespace

InfoHash LoadInfoHash(uint32_t rank) {
  InfoHash h;
  uint64_t x = Mix64(uint64_t{rank} + 0x52494e47ULL);  // "RING"
  for (size_t i = 0; i < h.bytes.size(); i += 8) {
    x = Mix64(x + i);
    for (size_t j = 0; j < 8 && i + j < h.bytes.size(); ++j) {
      h.bytes[i + j] = static_cast<uint8_t>(x >> (8 * j));
    }
  }
  return h;
}

LoadGenerator::LoadGenerator(const LoadConfig& config) : config_(config) {
  for (int t = 0; t < config.threads; ++t) {
    counters_.push_back(std::make_unique<LoadCounters>());
  }
  results_.resize(config.threads);
}

LoadGenerator::~LoadGenerator() {
  RequestStop();
  Join();
}

void LoadGenerator::Start() {
  running_ = config_.threads;
  for (int t = 0; t < config_.threads; ++t) {
    threads_.emplace_back([this, t] { RunThread(t); });
  }
}

bool LoadGenerator::Done() const { return running_.load() == 0; }

void LoadGenerator::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

template <class Get>
uint64_t LoadGenerator::Sum(Get get) const {
  uint64_t s = 0;
  for (const auto& c : counters_) s += get(*c).value();
  return s;
}

uint64_t LoadGenerator::Sent(RequestType t) const {
  return Sum([t](const LoadCounters& c) -> const Counter& { return c.sent[t]; });
}
uint64_t LoadGenerator::Answered(RequestType t) const {
  return Sum(
      [t](const LoadCounters& c) -> const Counter& { return c.answered[t]; });
}
uint64_t LoadGenerator::Errors() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.errors; });
}
uint64_t LoadGenerator::Timeouts() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.timeouts; });
}
uint64_t LoadGenerator::Strays() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.strays; });
}
uint64_t LoadGenerator::PeersReturned() const {
  return Sum(
      [](const LoadCounters& c) -> const Counter& { return c.peers_returned; });
}

double LoadGenerator::LatencyPercentileUs(double p) const {
  uint64_t total = 0;
  std::vector<uint64_t> merged(kHistBuckets, 0);
  for (const auto& r : results_) {
    for (size_t i = 0; i < r.latency_us.size(); ++i) {
      merged[i] += r.latency_us[i];
      total += r.latency_us[i];
    }
  }
  if (total == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(p * static_cast<double>(total));
  uint64_t seen = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    seen += merged[i];
    if (seen > rank) return static_cast<double>(i);
  }
  return static_cast<double>(kHistBuckets - 1);
}

template <class Rng>
void LoadGenerator::RunForgedFlood(int fd,
                                   const std::vector<uint32_t>& source_ips,
                                   bool use_pktinfo, int64_t deadline, Rng& rng,
                                   LoadCounters& ctr) {
  std::array<std::array<uint8_t, protocol::kAnnounceRequestSize>, kBatch> req;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(in_pktinfo))>, kBatch> ctl{};
  const ZipfSampler zipf(config_.torrents, config_.zipf);
  while (!stop_.load(std::memory_order_relaxed) && NowNs() < deadline) {
    for (int i = 0; i < kBatch; ++i) {
      protocol::AnnounceRequest a;
      a.connection_id = rng();  // forged
      a.transaction_id = static_cast<uint32_t>(rng());
      a.info_hash = LoadInfoHash(zipf.Sample(rng()));
      a.port = 6881;
      protocol::WriteAnnounceRequest(req[i], a);
      iov[i] = {req[i].data(), req[i].size()};
      msghdr& h = msgs[i].msg_hdr;
      h = {};
      h.msg_name = const_cast<sockaddr_storage*>(&config_.target.addr);
      h.msg_namelen = config_.target.len;
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      if (use_pktinfo) {
        SetSourceAddress(&h, ctl[i].data(),
                         source_ips[rng() % source_ips.size()]);
      }
    }
    const int n = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (n > 0) ctr.sent[kAnnounceReq].Add(static_cast<uint64_t>(n));
  }
}

void LoadGenerator::RunThread(int index) {
  LoadCounters& ctr = *counters_[index];
  std::vector<uint32_t>& hist = results_[index].latency_us;
  hist.assign(kHistBuckets, 0);
  const bool v6 = config_.target.family() == AddressFamily::kV6;
  const uint32_t num_sources = v6 ? 1 : std::max(1u, config_.sources);
  const bool use_pktinfo = !v6 && num_sources > 1;
  const ZipfSampler zipf(config_.torrents, config_.zipf);
  const double total_weight =
      config_.connect_weight + config_.announce_weight + config_.scrape_weight;
  const uint32_t seeder_per_mille =
      static_cast<uint32_t>(config_.seeder_share * 1000);

  const int fd = socket(v6 ? AF_INET6 : AF_INET,
                        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int buf = 16 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
  sockaddr_storage any{};
  any.ss_family = v6 ? AF_INET6 : AF_INET;
  bind(fd, reinterpret_cast<sockaddr*>(&any),
       v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));

  std::vector<Source> sources(num_sources);
  for (uint32_t s = 0; s < num_sources; ++s) {
    sources[s].ip_v4 = num_sources > 1 ? kV4SourceBase + s : 0;
  }
  const uint32_t window = config_.window;
  auto b = std::make_unique<ThreadBuffers>(window);
  for (uint32_t i = 0; i < window; ++i) b->free[i] = window - 1 - i;
  uint32_t free_count = window;
  for (int i = 0; i < kBatch; ++i) {
    b->recv_iov[i] = {b->recv_data[i].data(), kRecvSize};
    b->recv[i].msg_hdr.msg_iov = &b->recv_iov[i];
    b->recv[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t rng = Mix64(index + 1);
  auto next_random = [&rng] {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
  };

  const int64_t start = NowNs();
  const int64_t deadline = start + absl::ToInt64Nanoseconds(config_.duration);
  const int64_t timeout_ns = absl::ToInt64Nanoseconds(config_.timeout);
  int64_t next_timeout_scan = start + 10'000'000;
  bool issuing = true;

  // Writes one request into slot `si`; returns its size, or 0 when nothing
  // can be sent now (fill finished, or waiting for a source's connect).
  uint64_t fill_cursor = 0;  // fill: this thread's peers are index + k·threads
  auto build = [&](uint32_t si, int64_t now) -> size_t {
    Slot& slot = b->slots[si];
    uint8_t* out = b->requests[si].data();
    uint64_t peer = 0;
    for (int attempt = 0;; ++attempt) {
      if (config_.fill) {
        peer = uint64_t(index) + fill_cursor * uint64_t(config_.threads);
        if (peer >= config_.peers) {
          issuing = false;
          return 0;
        }
      } else {
        peer = next_random() % config_.peers;
      }
      const Source& src = sources[peer % num_sources];
      const bool waiting =
          src.connect_sent_ns >= 0 && now - src.connect_sent_ns < timeout_ns;
      if (!waiting) break;
      if (config_.fill || attempt == 8) return 0;  // wait for the reply
    }
    slot.source = static_cast<uint32_t>(peer % num_sources);
    Source& src = sources[slot.source];
    slot.generation++;
    const uint32_t tid = (uint32_t{slot.generation} << 16) | si;
    if (src.connected_ns < 0 || now - src.connected_ns > kConnectionIdTtlNs) {
      slot.type = kConnectReq;
      src.connect_sent_ns = now;
      return protocol::WriteConnectRequest({out, kMaxRequest}, tid);
    }
    if (config_.fill) ++fill_cursor;
    double pick = config_.fill ? config_.connect_weight
                               : static_cast<double>(next_random() >> 11) *
                                     0x1.0p-53 * total_weight;
    if (pick < config_.connect_weight && !config_.fill) {
      slot.type = kConnectReq;
      return protocol::WriteConnectRequest({out, kMaxRequest}, tid);
    }
    pick -= config_.connect_weight;
    if (!config_.fill && pick >= config_.announce_weight) {
      slot.type = kScrapeReq;
      std::array<uint8_t, protocol::kMaxScrapeHashes * kInfoHashSize> hashes;
      const uint32_t n = config_.scrape_hashes;
      for (uint32_t i = 0; i < n; ++i) {
        const InfoHash h =
            LoadInfoHash(zipf.Sample(next_random()) + config_.torrent_offset);
        std::memcpy(&hashes[i * kInfoHashSize], h.bytes.data(), kInfoHashSize);
      }
      return protocol::WriteScrapeRequest({out, kMaxRequest}, src.connection_id,
                                          tid,
                                          {hashes.data(), n * kInfoHashSize});
    }
    slot.type = kAnnounceReq;
    protocol::AnnounceRequest a;
    a.connection_id = src.connection_id;
    a.transaction_id = tid;
    a.info_hash = LoadInfoHash(
        (config_.fill ? peer % config_.torrents : zipf.Sample(next_random())) +
        config_.torrent_offset);
    const uint64_t pid = Mix64(peer);
    std::memcpy(a.peer_id.data(), "-RL0001-", 8);
    std::memcpy(a.peer_id.data() + 8, &pid, 8);
    const bool seeder = (pid % 1000) < seeder_per_mille;
    a.left = seeder ? 0 : 1 << 20;
    a.event = config_.fill ? protocol::Event::kStarted : protocol::Event::kNone;
    if (!config_.fill && config_.stopped_share > 0 &&
        static_cast<double>(next_random() >> 11) * 0x1.0p-53 <
            config_.stopped_share) {
      a.event = protocol::Event::kStopped;
    }
    a.num_want = config_.numwant;
    a.port = static_cast<uint16_t>(10000 + peer / num_sources);
    return protocol::WriteAnnounceRequest({out, kMaxRequest}, a);
  };

  if (config_.flood_forged) {
    std::vector<uint32_t> ips;
    for (const Source& src : sources) ips.push_back(src.ip_v4);
    RunForgedFlood(fd, ips, use_pktinfo, deadline, next_random, ctr);
    close(fd);
    running_.fetch_sub(1);
    return;
  }
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t now = NowNs();
    if (!config_.fill && now >= deadline) break;
    if (config_.fill && !issuing && free_count == window) break;

    // 1. Fill the window, one sendmmsg per batch.
    int n = 0;
    while (issuing && free_count > 0 && n < kBatch) {
      const uint32_t si = b->free[free_count - 1];
      const size_t len = build(si, now);
      if (len == 0) break;
      --free_count;
      Slot& slot = b->slots[si];
      slot.busy = true;
      slot.sent_ns = now;
      msghdr& h = b->send[n].msg_hdr;
      h = {};
      h.msg_name = const_cast<sockaddr_storage*>(&config_.target.addr);
      h.msg_namelen = config_.target.len;
      b->send_iov[n] = {b->requests[si].data(), len};
      h.msg_iov = &b->send_iov[n];
      h.msg_iovlen = 1;
      if (use_pktinfo) {
        SetSourceAddress(&h, b->control[n].data(), sources[slot.source].ip_v4);
      }
      b->send_slot[n] = si;
      ++n;
    }
    int sent = 0;
    while (sent < n) {
      const int r = sendmmsg(fd, b->send.data() + sent, n - sent, 0);
      if (r <= 0) break;
      sent += r;
    }
    for (int i = 0; i < n; ++i) {
      const uint32_t si = b->send_slot[i];
      if (i < sent) {
        ctr.sent[b->slots[si].type].Add();
      } else {  // the socket buffer is full: retry these later
        b->slots[si].busy = false;
        b->free[free_count++] = si;
      }
    }

    // 2. Collect replies.
    for (int i = 0; i < kBatch; ++i) b->recv[i].msg_hdr.msg_flags = 0;
    const int got = recvmmsg(fd, b->recv.data(), kBatch, MSG_DONTWAIT, nullptr);
    now = NowNs();
    for (int i = 0; i < got; ++i) {
      const std::span<const uint8_t> d(b->recv_data[i].data(),
                                       b->recv[i].msg_len);
      protocol::Response r;
      if (protocol::ParseResponse(d, config_.target.family(), &r) !=
          protocol::ResponseParseError::kNone) {
        ctr.strays.Add();
        continue;
      }
      const uint32_t tid = r.transaction_id();
      const uint32_t si = tid & 0xffff;
      if (si >= window || !b->slots[si].busy ||
          b->slots[si].generation != (tid >> 16)) {
        ctr.strays.Add();
        continue;
      }
      Slot& slot = b->slots[si];
      if (r.action == protocol::Action::kError) {
        ctr.errors.Add();
      } else if (r.action == protocol::Action::kConnect) {
        sources[slot.source].connection_id = r.connect.connection_id;
        sources[slot.source].connected_ns = now;
        sources[slot.source].connect_sent_ns = -1;
      } else if (r.action == protocol::Action::kAnnounce) {
        ctr.peers_returned.Add(r.announce.peer_count());
        if (config_.fill) fill_done_.fetch_add(1, std::memory_order_relaxed);
      }
      ctr.answered[slot.type].Add();
      const int64_t us = (now - slot.sent_ns) / 1000;
      hist[std::min<int64_t>(us, kHistBuckets - 1)]++;
      slot.busy = false;
      b->free[free_count++] = si;
    }
    if (got <= 0 && (n == 0 || sent == 0)) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 1);
    }

    // 3. Give up on requests older than the timeout.
    if (now >= next_timeout_scan) {
      next_timeout_scan = now + 10'000'000;
      for (uint32_t si = 0; si < window; ++si) {
        Slot& slot = b->slots[si];
        if (slot.busy && now - slot.sent_ns > timeout_ns) {
          ctr.timeouts.Add();
          slot.busy = false;
          b->free[free_count++] = si;
        }
      }
    }
  }
  close(fd);
  running_.fetch_sub(1);
}

}  // namespace ringtrack
