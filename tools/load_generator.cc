#include "tools/load_generator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/base/hash.h"
#include "core/http/client.h"
#include "core/io/batch_io.h"
#include "core/udp/protocol.h"
#include "core/udp/udp_tracker.h"
#include "tools/http_client_pool.h"
#include "tools/zipf.h"

namespace ringtrack {
namespace {

constexpr int kBatch = 64;
constexpr size_t kMaxRequest = protocol::kScrapeRequestHeaderSize +
                               protocol::kMaxScrapeHashes * kInfoHashSize;
constexpr size_t kRecvSize = 2048;
constexpr uint32_t kHistBuckets = 1 << 17;  // 1 µs buckets up to ~131 ms
constexpr int64_t kConnectionIdTtlNs = 60'000'000'000;  // BEP 15: 1 minute

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Writes an IP_PKTINFO control message that makes a datagram leave from
// IPv4 address `ip` (host order) into `control`; returns its length.
// REQUIRES: `control` has CMSG_SPACE(sizeof(in_pktinfo)) bytes.
size_t WriteSourceAddress(uint8_t* control, uint32_t ip) {
  msghdr h{};
  h.msg_control = control;
  h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo pi{};
  pi.ipi_spec_dst.s_addr = htonl(ip);
  std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
  return h.msg_controllen;
}

struct Source {
  uint32_t ip_v4 = 0;  // host order; 0 for IPv6 (always ::1)
  uint64_t connection_id = 0;
  int64_t connected_ns = -1;     // -1: no ID yet
  int64_t connect_sent_ns = -1;  // a refresh is in flight since then
};

// The window of outstanding requests of one thread: a slot per request in
// flight, each with its request bytes, and a free list. A slot's
// transaction ID is (generation << 16) | index, so a late reply to a slot
// that has been reused since is recognised as a stray.
class Window {
 public:
  struct Slot {
    bool busy = false;
    uint16_t generation = 0;
    RequestType type = kConnectReq;
    uint32_t source = 0;
    int64_t sent_ns = 0;
  };

  explicit Window(uint32_t size)
      : slots_(size), requests_(size), free_(size) {
    for (uint32_t i = 0; i < size; ++i) free_[i] = size - 1 - i;
    free_count_ = size;
  }
  bool has_free() const { return free_count_ > 0; }
  bool idle() const { return free_count_ == slots_.size(); }

  // The next free slot (not yet taken: Take() it once its request is
  // written). REQUIRES: has_free().
  uint32_t PeekFree() const { return free_[free_count_ - 1]; }
  // Marks slot `si` (the one PeekFree() gave) in flight since `now`.
  void Take(uint32_t si, int64_t now) {
    --free_count_;
    slots_[si].busy = true;
    slots_[si].sent_ns = now;
  }
  void Release(uint32_t si) {
    slots_[si].busy = false;
    free_[free_count_++] = si;
  }
  Slot& slot(uint32_t si) { return slots_[si]; }
  std::span<uint8_t> request(uint32_t si) { return requests_[si]; }
  // A fresh transaction ID for slot `si`'s next request.
  uint32_t NextTransactionId(uint32_t si) {
    return (uint32_t{++slots_[si].generation} << 16) | si;
  }
  // The busy slot a reply's transaction ID names, or nullptr (a stray).
  Slot* Match(uint32_t tid, uint32_t* si) {
    *si = tid & 0xffff;
    if (*si >= slots_.size() || !slots_[*si].busy ||
        slots_[*si].generation != (tid >> 16)) {
      return nullptr;
    }
    return &slots_[*si];
  }
  // Releases every slot in flight since before `cutoff_ns`; returns how
  // many.
  uint32_t ExpireBefore(int64_t cutoff_ns) {
    uint32_t n = 0;
    for (uint32_t si = 0; si < slots_.size(); ++si) {
      if (slots_[si].busy && slots_[si].sent_ns < cutoff_ns) {
        Release(si);
        ++n;
      }
    }
    return n;
  }

 private:
  std::vector<Slot> slots_;
  std::vector<std::array<uint8_t, kMaxRequest>> requests_;
  std::vector<uint32_t> free_;  // stack of free slot indexes
  uint32_t free_count_ = 0;
};

// One HTTP request, as RequestBuilder::PlanHttp() picks it.
struct HttpPlan {
  RequestType type = kAnnounceReq;
  uint32_t source = 0;     // index of the simulated source address
  uint32_t source_ip = 0;  // IPv4, host order; 0: the kernel's choice (IPv6)
  protocol::AnnounceRequest announce;  // kAnnounceReq
  std::vector<uint8_t> scrape_hashes;  // kScrapeReq: 20 bytes each
};

// Decides what each request of one thread is and writes it: which
// simulated peer speaks, whether its source needs a (fresh) connection ID
// first, and then a connect, announce or scrape by the configured mix
// (with --fill: every peer of this thread announces once, in order).
class RequestBuilder {
 public:
  RequestBuilder(const LoadConfig& config, int index)
      : config_(config),
        index_(index),
        v6_(config.target.family() == AddressFamily::kV6),
        sources_(v6_ ? 1 : std::max(1u, config.sources)),
        zipf_(config.torrents, config.zipf),
        total_weight_(config.connect_weight + config.announce_weight +
                      config.scrape_weight),
        seeder_per_mille_(static_cast<uint32_t>(config.seeder_share * 1000)),
        timeout_ns_(absl::ToInt64Nanoseconds(config.timeout)),
        rng_(Mix64(index + 1)) {
    for (uint32_t s = 0; s < sources_.size(); ++s) {
      sources_[s].ip_v4 = sources_.size() > 1 ? config.source_base + s : 0;
    }
  }

  // Whether requests pick their IPv4 source address per datagram.
  bool use_pktinfo() const { return !v6_ && sources_.size() > 1; }
  uint32_t source_ip(uint32_t s) const { return sources_[s].ip_v4; }
  std::vector<uint32_t> source_ips() const {
    std::vector<uint32_t> ips;
    for (const Source& src : sources_) ips.push_back(src.ip_v4);
    return ips;
  }
  // False once --fill has sent every peer of this thread.
  bool issuing() const { return issuing_; }

  uint64_t Random() {
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1DULL;
  }

  // Writes the next request, with transaction ID `tid`, into `out` and
  // records its type and source in `slot`. Returns its size, or 0 when
  // nothing can be sent now (fill finished, or waiting for a source's
  // connect reply).
  size_t Build(uint32_t tid, int64_t now, std::span<uint8_t> out,
               Window::Slot* slot) {
    uint64_t peer = 0;
    uint32_t membership = 0;  // which of the peer's torrents
    for (int attempt = 0;; ++attempt) {
      if (config_.fill) {
        // This thread's items are index + k·threads; item = peer·K + j.
        const uint64_t item =
            uint64_t(index_) + fill_cursor_ * uint64_t(config_.threads);
        const uint64_t k = std::max(1u, config_.torrents_per_peer);
        if (item >= uint64_t{config_.peers} * k) {
          issuing_ = false;
          return 0;
        }
        peer = item / k;
        membership = static_cast<uint32_t>(item % k);
      } else {
        peer = Random() % config_.peers;
        if (config_.torrents_per_peer > 1) {
          membership = static_cast<uint32_t>(Random() % config_.torrents_per_peer);
        }
      }
      const Source& src = sources_[peer % sources_.size()];
      const bool waiting =
          src.connect_sent_ns >= 0 && now - src.connect_sent_ns < timeout_ns_;
      if (!waiting) break;
      if (config_.fill || attempt == 8) return 0;  // wait for the reply
    }
    slot->source = static_cast<uint32_t>(peer % sources_.size());
    Source& src = sources_[slot->source];
    if (src.connected_ns < 0 || now - src.connected_ns > kConnectionIdTtlNs) {
      slot->type = kConnectReq;
      src.connect_sent_ns = now;
      return protocol::WriteConnectRequest(out, tid);
    }
    if (config_.fill) ++fill_cursor_;
    double pick = config_.fill ? config_.connect_weight
                               : static_cast<double>(Random() >> 11) *
                                     0x1.0p-53 * total_weight_;
    if (pick < config_.connect_weight && !config_.fill) {
      slot->type = kConnectReq;
      return protocol::WriteConnectRequest(out, tid);
    }
    pick -= config_.connect_weight;
    if (!config_.fill && pick >= config_.announce_weight) {
      slot->type = kScrapeReq;
      return WriteScrape(tid, src, out);
    }
    slot->type = kAnnounceReq;
    return WriteAnnounce(tid, peer, TorrentOf(peer, membership), src, out);
  }

  // A connect reply for `source` arrived at `now`.
  void Connected(uint32_t source, uint64_t connection_id, int64_t now) {
    sources_[source].connection_id = connection_id;
    sources_[source].connected_ns = now;
    sources_[source].connect_sent_ns = -1;
  }

  // HTTP: picks the next request (an announce or a scrape by the mix; HTTP
  // has no connects) into *plan. With a `source` other than kAnySource, the
  // peer is one that sends from that source (a kept-alive connection's);
  // with --fill, the next peer of this thread in order. Returns false once
  // --fill has sent every peer of this thread.
  static constexpr uint32_t kAnySource = UINT32_MAX;
  bool PlanHttp(uint32_t source, HttpPlan* plan) {
    uint64_t peer = 0;
    uint32_t membership = 0;
    const uint32_t nsources = static_cast<uint32_t>(sources_.size());
    if (config_.fill) {
      const uint64_t item =
          uint64_t(index_) + fill_cursor_ * uint64_t(config_.threads);
      const uint64_t k = std::max(1u, config_.torrents_per_peer);
      if (item >= uint64_t{config_.peers} * k) {
        issuing_ = false;
        return false;
      }
      ++fill_cursor_;
      peer = item / k;
      membership = static_cast<uint32_t>(item % k);
      plan->type = kAnnounceReq;
    } else {
      if (source < nsources && source < config_.peers) {
        // Peers of source s are s, s + S, s + 2S, ... below --peers.
        const uint64_t per_source =
            (uint64_t{config_.peers} - source + nsources - 1) / nsources;
        peer = (Random() % per_source) * nsources + source;
      } else {
        peer = Random() % config_.peers;
      }
      if (config_.torrents_per_peer > 1) {
        membership =
            static_cast<uint32_t>(Random() % config_.torrents_per_peer);
      }
      const double weight = config_.announce_weight + config_.scrape_weight;
      const double pick =
          static_cast<double>(Random() >> 11) * 0x1.0p-53 * weight;
      plan->type = pick < config_.announce_weight ? kAnnounceReq : kScrapeReq;
    }
    plan->source = static_cast<uint32_t>(peer % nsources);
    plan->source_ip = sources_[plan->source].ip_v4;
    if (plan->type == kAnnounceReq) {
      plan->announce = MakeAnnounce(peer, TorrentOf(peer, membership));
    } else {
      plan->scrape_hashes.clear();
      for (uint32_t i = 0; i < config_.scrape_hashes; ++i) {
        const InfoHash h =
            LoadInfoHash(zipf_.Sample(Random()) + config_.torrent_offset);
        plan->scrape_hashes.insert(plan->scrape_hashes.end(), h.bytes.begin(),
                                   h.bytes.end());
      }
    }
    return true;
  }

 private:
  size_t WriteScrape(uint32_t tid, const Source& src, std::span<uint8_t> out) {
    std::array<uint8_t, protocol::kMaxScrapeHashes * kInfoHashSize> hashes;
    const uint32_t n = config_.scrape_hashes;
    for (uint32_t i = 0; i < n; ++i) {
      const InfoHash h =
          LoadInfoHash(zipf_.Sample(Random()) + config_.torrent_offset);
      std::memcpy(&hashes[i * kInfoHashSize], h.bytes.data(), kInfoHashSize);
    }
    return protocol::WriteScrapeRequest(out, src.connection_id, tid,
                                        {hashes.data(), n * kInfoHashSize});
  }

  // The rank of the `membership`-th torrent of `peer` (see LoadConfig).
  uint32_t TorrentOf(uint64_t peer, uint32_t membership) {
    const uint32_t k = config_.torrents_per_peer;
    if (k == 0) {
      return config_.fill ? static_cast<uint32_t>(peer % config_.torrents)
                          : zipf_.Sample(Random());
    }
    return zipf_.Sample(Mix64((peer * k + membership) ^ 0x6a09e667f3bcc908ULL));
  }

  size_t WriteAnnounce(uint32_t tid, uint64_t peer, uint32_t torrent,
                       const Source& src, std::span<uint8_t> out) {
    protocol::AnnounceRequest a = MakeAnnounce(peer, torrent);
    a.connection_id = src.connection_id;
    a.transaction_id = tid;
    return protocol::WriteAnnounceRequest(out, a);
  }

  // The announce simulated `peer` makes to torrent rank `torrent` (all but
  // the UDP connection and transaction IDs).
  protocol::AnnounceRequest MakeAnnounce(uint64_t peer, uint32_t torrent) {
    protocol::AnnounceRequest a;
    a.info_hash = LoadInfoHash(torrent + config_.torrent_offset);
    const uint64_t pid = Mix64(peer);
    std::memcpy(a.peer_id.data(), "-RL0001-", 8);
    std::memcpy(a.peer_id.data() + 8, &pid, 8);
    const bool seeder = (pid % 1000) < seeder_per_mille_;
    a.left = seeder ? 0 : 1 << 20;
    a.event = config_.fill ? protocol::Event::kStarted : protocol::Event::kNone;
    if (!config_.fill && config_.stopped_share > 0 &&
        static_cast<double>(Random() >> 11) * 0x1.0p-53 <
            config_.stopped_share) {
      a.event = protocol::Event::kStopped;
    }
    a.num_want = config_.numwant;
    a.port = static_cast<uint16_t>(10000 + peer / sources_.size());
    return a;
  }

  const LoadConfig& config_;
  const int index_;
  const bool v6_;
  std::vector<Source> sources_;
  const ZipfSampler zipf_;
  const double total_weight_;
  const uint32_t seeder_per_mille_;
  const int64_t timeout_ns_;
  uint64_t rng_;
  uint64_t fill_cursor_ = 0;  // fill: this thread's items are index + k·threads
  bool issuing_ = true;
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
uint64_t LoadGenerator::Errors(RequestType t) const {
  return Sum(
      [t](const LoadCounters& c) -> const Counter& { return c.errors[t]; });
}
uint64_t LoadGenerator::Errors() const {
  uint64_t n = 0;
  for (int t = 0; t < kNumReqTypes; ++t) n += Errors(static_cast<RequestType>(t));
  return n;
}

void CountErrorMessage(std::string_view message, ErrorMessageCounts* counts) {
  auto it = counts->find(message);
  if (it == counts->end()) {
    // Allocates only for a message not seen before.
    const bool full = counts->size() >= kMaxErrorMessages;
    it = counts->try_emplace(std::string(full ? kOtherErrorMessages : message), 0)
             .first;
  }
  ++it->second;
}

ErrorMessageCounts LoadGenerator::ErrorsByMessage() const {
  ErrorMessageCounts all;
  for (const LoadThreadResult& r : results_) {
    for (const auto& [message, n] : r.errors_by_message) all[message] += n;
  }
  return all;
}
uint64_t LoadGenerator::Timeouts() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.timeouts; });
}
uint64_t LoadGenerator::Strays() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.strays; });
}
uint64_t LoadGenerator::Broken() const {
  return Sum([](const LoadCounters& c) -> const Counter& { return c.broken; });
}
uint64_t LoadGenerator::Connections() const {
  return Sum(
      [](const LoadCounters& c) -> const Counter& { return c.connections; });
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
                                   bool use_pktinfo, int64_t deadline, Rng rng,
                                   LoadCounters& ctr) {
  SendBatch out(kBatch, protocol::kAnnounceRequestSize,
                CMSG_SPACE(sizeof(in_pktinfo)));
  const auto* target = reinterpret_cast<const sockaddr*>(&config_.target.addr);
  const ZipfSampler zipf(config_.torrents, config_.zipf);
  while (!stop_.load(std::memory_order_relaxed) && NowNs() < deadline) {
    while (!out.full()) {
      protocol::AnnounceRequest a;
      a.connection_id = rng();  // forged
      a.transaction_id = static_cast<uint32_t>(rng());
      a.info_hash = LoadInfoHash(zipf.Sample(rng()));
      a.port = 6881;
      const std::span<uint8_t> req = out.buffer();
      protocol::WriteAnnounceRequest(req, a);
      const size_t control_len =
          use_pktinfo ? WriteSourceAddress(
                            out.control(), source_ips[rng() % source_ips.size()])
                      : 0;
      out.Push(req.first(protocol::kAnnounceRequestSize), target,
               config_.target.len, control_len);
    }
    ctr.sent[kAnnounceReq].Add(static_cast<uint64_t>(out.Flush(fd, 0).sent));
  }
}

int OpenLoadSocket(bool v6) {
  const int fd = socket(v6 ? AF_INET6 : AF_INET,
                        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int buf = 16 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
  sockaddr_storage any{};
  any.ss_family = v6 ? AF_INET6 : AF_INET;
  bind(fd, reinterpret_cast<sockaddr*>(&any),
       v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  return fd;
}

namespace {

// A request head of any size the codec writes (a host and a path of up to
// 255 bytes each) or a scrape of the most hashes a load sends.
constexpr size_t kMaxHttpRequest =
    http::kMaxAnnounceRequestSize + 3 * kInfoHashSize * protocol::kMaxScrapeHashes +
    16 * protocol::kMaxScrapeHashes;

// One load thread's run over HTTP: keeps a request on every slot of its
// HttpClientPool (one connection each), reads the replies with core/http's
// codec into the thread's counters, and gives up on requests past the
// timeout.
class HttpLoadRun {
 public:
  HttpLoadRun(const LoadConfig& config, int index, LoadCounters* counters,
              LoadThreadResult* result, std::atomic<uint64_t>* fill_done)
      : config_(config),
        ctr_(*counters),
        result_(*result),
        fill_done_(*fill_done),
        builder_(config, index),
        keep_alive_(config.http_mode == HttpConnectionMode::kKeepAlive),
        pool_(reinterpret_cast<const sockaddr*>(&config.target.addr),
              config.target.len, config.window, config.http_mode),
        authority_(config.target.url.Authority()),
        to_{authority_, config.target.url.path},
        in_flight_(config.window),
        request_(kMaxHttpRequest),
        announce_reply_(std::make_unique<http::AnnounceResponse>()),
        scrape_reply_(std::make_unique<http::ScrapeResponse>()),
        timeout_ns_(absl::ToInt64Nanoseconds(config.timeout)) {
    for (uint32_t si = config.window; si-- > 0;) idle_.push_back(si);
    result_.latency_us.assign(kHistBuckets, 0);
  }

  // Runs until `stop`, the duration's end or, with --fill, the last
  // peer's reply. Returns true iff a fill stopped because nothing replied
  // for kFillStallTimeouts timeouts.
  bool Run(const std::atomic<bool>& stop) {
    const int64_t start = NowNs();
    const int64_t deadline = start + absl::ToInt64Nanoseconds(config_.duration);
    int64_t next_timeout_scan = start + kTimeoutScanNs;
    last_reply_ns_ = start;
    while (!stop.load(std::memory_order_relaxed)) {
      const int64_t now = NowNs();
      if (!config_.fill && now >= deadline) return false;
      if (config_.fill && !builder_.issuing() &&
          idle_.size() == config_.window) {
        return false;
      }
      if (config_.fill &&
          now - last_reply_ns_ >
              LoadGenerator::kFillStallTimeouts * timeout_ns_) {
        return true;
      }
      IssueRequests(now);
      pool_.Poll(idle_.size() == config_.window ? 1 : 10,
                 [this](uint32_t si, const HttpOutcome& o) { Finish(si, o); });
      if (now >= next_timeout_scan) {
        next_timeout_scan = now + kTimeoutScanNs;
        ExpireRequests(NowNs());
      }
    }
    return false;
  }

 private:
  static constexpr int64_t kTimeoutScanNs = 10'000'000;

  struct InFlight {
    RequestType type = kAnnounceReq;
    int64_t sent_ns = 0;
    uint32_t source = 0;  // the simulated source its connection is from
  };

  // Starts a request on every idle slot.
  void IssueRequests(int64_t now) {
    while (!idle_.empty() && builder_.issuing()) {
      const uint32_t si = idle_.back();
      // A kept-alive connection carries the requests of its source's
      // peers; a new connection any peer's.
      const uint32_t source = keep_alive_ && pool_.connected(si)
                                  ? in_flight_[si].source
                                  : RequestBuilder::kAnySource;
      if (!builder_.PlanHttp(source, &plan_)) return;
      const size_t len =
          plan_.type == kAnnounceReq
              ? http::WriteAnnounceRequest(
                    request_, to_, CoreRequestOf(plan_.announce, PeerEndpoint{}),
                    /*compact=*/true, keep_alive_)
              : http::WriteScrapeRequest(request_, to_, plan_.scrape_hashes,
                                         keep_alive_);
      ctr_.sent[plan_.type].Add();
      if (len == 0) {  // cannot happen: checked at start, buffer sized
        CountError(plan_.type, "(no request: the URL cannot carry it)");
        return;
      }
      idle_.pop_back();
      in_flight_[si] = {plan_.type, now, plan_.source};
      pool_.Start(si,
                  {reinterpret_cast<const char*>(request_.data()), len},
                  plan_.source_ip);
    }
    ctr_.connections.Add(pool_.connections_opened() -
                         ctr_.connections.value());
  }

  // Slot si's request ended with `o`.
  void Finish(uint32_t si, const HttpOutcome& o) {
    idle_.push_back(si);
    if (o.kind == HttpOutcome::kBroken) {
      ctr_.broken.Add();
      return;
    }
    const int64_t now = NowNs();
    last_reply_ns_ = now;
    const InFlight& f = in_flight_[si];
    if (TakeReply(f.type, o)) {
      const int64_t us = (now - f.sent_ns) / 1000;
      result_.latency_us[std::min<int64_t>(us, kHistBuckets - 1)]++;
    }
  }

  // Counts a whole reply to a request of `type`; returns true iff it was
  // an answer (status 200, bencoded, no failure reason).
  bool TakeReply(RequestType type, const HttpOutcome& o) {
    if (o.status != 200) {
      CountError(type, absl::StrCat("HTTP ", o.status));
      return false;
    }
    const std::span<const uint8_t> body(
        reinterpret_cast<const uint8_t*>(o.body.data()), o.body.size());
    const http::ReplyError e =
        type == kAnnounceReq
            ? http::ParseAnnounceResponse(body, announce_reply_.get())
            : http::ParseScrapeResponse(body, scrape_reply_.get());
    if (e != http::ReplyError::kNone) {
      CountError(type, "(a malformed bencoded reply)");
      return false;
    }
    const std::string_view failure = type == kAnnounceReq
                                         ? announce_reply_->failure_reason
                                         : scrape_reply_->failure_reason;
    if (!failure.empty()) {
      CountError(type, failure);
      return false;
    }
    if (type == kAnnounceReq) {
      ctr_.peers_returned.Add(announce_reply_->peer_count);
      if (config_.fill) fill_done_.fetch_add(1, std::memory_order_relaxed);
    }
    ctr_.answered[type].Add();
    return true;
  }

  void CountError(RequestType type, std::string_view message) {
    ctr_.errors[type].Add();
    CountErrorMessage(message, &result_.errors_by_message);
  }

  // Gives up on requests in flight since before now - timeout.
  void ExpireRequests(int64_t now) {
    for (uint32_t si = 0; si < config_.window; ++si) {
      if (!pool_.idle(si) && in_flight_[si].sent_ns < now - timeout_ns_) {
        pool_.Abort(si);
        idle_.push_back(si);
        ctr_.timeouts.Add();
      }
    }
  }

  const LoadConfig& config_;
  LoadCounters& ctr_;
  LoadThreadResult& result_;
  std::atomic<uint64_t>& fill_done_;
  RequestBuilder builder_;
  const bool keep_alive_;
  HttpClientPool pool_;
  const std::string authority_;
  const http::RequestTarget to_;  // views authority_ and config_
  std::vector<InFlight> in_flight_;
  std::vector<uint32_t> idle_;  // slots without a request in flight
  std::vector<uint8_t> request_;
  HttpPlan plan_;
  std::unique_ptr<http::AnnounceResponse> announce_reply_;
  std::unique_ptr<http::ScrapeResponse> scrape_reply_;
  const int64_t timeout_ns_;
  int64_t last_reply_ns_ = 0;
};

}  // namespace

void LoadGenerator::RunHttpThread(int index) {
  HttpLoadRun run(config_, index, counters_[index].get(), &results_[index],
                  &fill_done_);
  if (run.Run(stop_)) fill_stalled_.store(true);
  running_.fetch_sub(1);
}

void LoadGenerator::RunThread(int index) {
  if (config_.target.http()) {
    RunHttpThread(index);
    return;
  }
  LoadCounters& ctr = *counters_[index];
  std::vector<uint32_t>& hist = results_[index].latency_us;
  hist.assign(kHistBuckets, 0);
  ErrorMessageCounts& error_messages = results_[index].errors_by_message;
  const int fd = OpenLoadSocket(config_.target.family() == AddressFamily::kV6);
  RequestBuilder builder(config_, index);
  const int64_t start = NowNs();
  const int64_t deadline = start + absl::ToInt64Nanoseconds(config_.duration);
  if (config_.flood_forged) {
    RunForgedFlood(fd, builder.source_ips(), builder.use_pktinfo(), deadline,
                   [&builder] { return builder.Random(); }, ctr);
    close(fd);
    running_.fetch_sub(1);
    return;
  }
  const int64_t timeout_ns = absl::ToInt64Nanoseconds(config_.timeout);
  const auto* target = reinterpret_cast<const sockaddr*>(&config_.target.addr);
  Window window(config_.window);
  SendBatch out(kBatch, 0, CMSG_SPACE(sizeof(in6_pktinfo)));
  std::array<uint32_t, kBatch> out_slot{};
  RecvBatch in(kBatch, kRecvSize);
  int64_t next_timeout_scan = start + 10'000'000;
  int64_t last_reply_ns = start;
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t now = NowNs();
    if (!config_.fill && now >= deadline) break;
    if (config_.fill && !builder.issuing() && window.idle()) break;
    if (config_.fill && now - last_reply_ns > kFillStallTimeouts * timeout_ns) {
      fill_stalled_.store(true);
      break;
    }

    // 1. Fill the window, one sendmmsg per batch.
    while (builder.issuing() && window.has_free() && !out.full()) {
      const uint32_t si = window.PeekFree();
      const size_t len = builder.Build(window.NextTransactionId(si), now,
                                       window.request(si), &window.slot(si));
      if (len == 0) break;
      window.Take(si, now);
      const size_t control_len =
          builder.use_pktinfo()
              ? WriteSourceAddress(out.control(),
                                   builder.source_ip(window.slot(si).source))
              : 0;
      out_slot[out.size()] = si;
      out.Push(window.request(si).first(len), target, config_.target.len,
               control_len);
    }
    const int n = out.size();
    const SendBatch::Outcome o = out.Flush(fd, 0);
    for (int i = 0; i < n; ++i) {
      const uint32_t si = out_slot[i];
      if (i < o.first_unsent) {
        ctr.sent[window.slot(si).type].Add();
      } else {  // the socket buffer is full: retry these later
        window.Release(si);
      }
    }

    // 2. Collect replies.
    const int got = in.Receive(fd, MSG_DONTWAIT);
    now = NowNs();
    for (int i = 0; i < got; ++i) {
      protocol::Response r;
      uint32_t si = 0;
      Window::Slot* slot = nullptr;
      if (protocol::ParseResponse(in.data(i), config_.target.family(), &r) !=
              protocol::ResponseParseError::kNone ||
          (slot = window.Match(r.transaction_id(), &si)) == nullptr) {
        ctr.strays.Add();
        continue;
      }
      last_reply_ns = now;
      if (r.action == protocol::Action::kError) {
        ctr.errors[slot->type].Add();
        CountErrorMessage(r.error.message, &error_messages);
        window.Release(si);
        continue;
      }
      if (r.action == protocol::Action::kConnect) {
        builder.Connected(slot->source, r.connect.connection_id, now);
      } else if (r.action == protocol::Action::kAnnounce) {
        ctr.peers_returned.Add(r.announce.peer_count());
        if (config_.fill) fill_done_.fetch_add(1, std::memory_order_relaxed);
      }
      ctr.answered[slot->type].Add();
      const int64_t us = (now - slot->sent_ns) / 1000;
      hist[std::min<int64_t>(us, kHistBuckets - 1)]++;
      window.Release(si);
    }
    if (got <= 0 && (n == 0 || o.first_unsent == 0)) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 1);
    }

    // 3. Give up on requests older than the timeout.
    if (now >= next_timeout_scan) {
      next_timeout_scan = now + 10'000'000;
      ctr.timeouts.Add(window.ExpireBefore(now - timeout_ns));
    }
  }
  close(fd);
  running_.fetch_sub(1);
}

}  // namespace ringtrack
