// The load generator behind ringtrack-load: closed-loop tracker traffic
// from many simulated peers, over UDP (BEP 15, with batched syscalls:
// sendmmsg/recvmmsg) or HTTP (BEP 3 and 48, see below).
//
// Each thread owns one UDP socket and a window of outstanding requests.
// Simulated peer i sends from source address i mod `sources` (chosen per
// datagram with IP_PKTINFO, so one socket speaks for many addresses on
// loopback) and announces port 10000 + i / sources, so (address, port) is
// distinct per peer. Each source keeps its own connection ID and refreshes
// it after 60 s, as BEP 15 asks of clients.
//
// Each peer belongs to `torrents_per_peer` torrents, drawn once from its
// own hash by Zipf popularity; an announce picks one of them, so after
// every peer has announced the tracker holds peers × torrents_per_peer
// entries and later announces refresh them (a tracker's steady state:
// clients re-announce every interval). With 0, every announce draws its
// torrent afresh, so nearly every announce stores a new entry (an
// insert-only load that grows the tracker without bound).
//
// Over http:// the same peers announce and scrape (HTTP has no connect):
// each thread keeps `window` requests in flight, one per TCP connection
// (tools/http_client_pool.h), each connection bound to its peer's source
// address. With HttpConnectionMode::kNewConnection each request opens a
// connection and asks for it to be closed ("Connection: close"), as most
// clients announce; with kKeepAlive a connection carries request after
// request of peers of one source address until the server closes it. A
// reply with a non-200 status or a "failure reason" is an error reply
// (counted by its status or reason, like BEP 15 error messages); a
// connection refused, reset or closed before its whole reply is `broken`.
#ifndef RINGTRACK_TOOLS_LOAD_GENERATOR_H_
#define RINGTRACK_TOOLS_LOAD_GENERATOR_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/tracker/tracker.h"
#include "tools/http_client_pool.h"
#include "tools/tracker_target.h"

namespace ringtrack {

struct LoadConfig {
  TrackerTarget target;
  int threads = 1;
  absl::Duration duration = absl::Seconds(10);
  uint32_t torrents = 100'000;
  double zipf = 1.0;  // popularity skew; 0 = uniform
  uint32_t peers = 1'000'000;
  uint32_t torrents_per_peer = 1;  // 0: a fresh torrent per announce
  double seeder_share = 0.3;
  double stopped_share = 0;     // announces sent with event=stopped
  uint32_t torrent_offset = 0;  // torrent rank r uses LoadInfoHash(r + offset)
  double connect_weight = 0;  // extra connects beyond those IDs need
  double announce_weight = 90;
  double scrape_weight = 10;
  int numwant = 50;
  uint32_t scrape_hashes = 1;
  uint32_t sources = 256;  // distinct source addresses (IPv4 loopback)
  uint32_t source_base = 0x7f010001;  // the first, host order (127.1.0.1)
  uint32_t window = 256;   // outstanding requests per thread
  absl::Duration timeout = absl::Seconds(1);
  // Each (peer, torrent) pair announces once, then stop; with
  // torrents_per_peer 0, peer i announces once to torrent i mod torrents.
  bool fill = false;
  // Open loop: announces with made-up connection IDs, as fast as the
  // socket takes them, no replies expected (forged-ID flood for XDP tests).
  bool flood_forged = false;
  // http:// targets: a new connection per request, or kept alive.
  HttpConnectionMode http_mode = HttpConnectionMode::kNewConnection;
};

// The info hash of torrent `rank` (the same in every run).
InfoHash LoadInfoHash(uint32_t rank);

enum RequestType { kConnectReq = 0, kAnnounceReq, kScrapeReq, kNumReqTypes };

// Counters one thread writes and the reporter reads.
struct LoadCounters {
  std::array<Counter, kNumReqTypes> sent;
  std::array<Counter, kNumReqTypes> answered;  // replies that are no error
  std::array<Counter, kNumReqTypes> errors;    // BEP 15 error replies
  Counter timeouts;  // no reply within the timeout
  Counter strays;    // replies that matched no outstanding request
  Counter broken;    // HTTP: refused, reset or closed before a whole reply
  Counter connections;  // HTTP: TCP connections opened
  Counter peers_returned;
};

// BEP 15 error replies by their message text.
using ErrorMessageCounts = std::map<std::string, uint64_t, std::less<>>;

// A tracker may word its errors any way it likes: past this many distinct
// messages per thread, the rest are counted under kOtherErrorMessages, so
// a tracker that puts a counter in its message cannot grow the map.
inline constexpr size_t kMaxErrorMessages = 32;
inline constexpr std::string_view kOtherErrorMessages = "(other messages)";

// Adds one error reply with `message` to `counts`.
void CountErrorMessage(std::string_view message, ErrorMessageCounts* counts);

struct LoadThreadResult {
  std::vector<uint32_t> latency_us;  // histogram: [us] → count, answers only
  ErrorMessageCounts errors_by_message;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(const LoadConfig& config);
  ~LoadGenerator();

  // Starts the threads; they stop by themselves after the duration (or,
  // with fill, once every peer has announced), or at RequestStop().
  void Start();
  void RequestStop() { stop_.store(true); }
  bool Done() const;
  void Join();

  // Sums over threads (safe while running). A reply is either answered
  // (no error) or an error.
  uint64_t Sent(RequestType t) const;
  uint64_t Answered(RequestType t) const;
  uint64_t Errors(RequestType t) const;
  uint64_t Errors() const;
  uint64_t Timeouts() const;
  uint64_t Strays() const;
  uint64_t Broken() const;
  uint64_t Connections() const;
  uint64_t PeersReturned() const;
  uint64_t FillProgress() const { return fill_done_.load(); }
  // True iff a --fill gave up because no reply came for
  // kFillStallTimeouts × the timeout (the tracker is gone or silent).
  bool FillStalled() const { return fill_stalled_.load(); }
  // Latency percentile in microseconds over all answered requests (after
  // Join()).
  double LatencyPercentileUs(double p) const;
  // Error replies by message over all threads (after Join()).
  ErrorMessageCounts ErrorsByMessage() const;

  // A fill stops when nothing has answered for this many timeouts: without
  // a deadline of its own it would otherwise resend connects forever.
  static constexpr int kFillStallTimeouts = 10;

 private:
  void RunThread(int index);
  void RunHttpThread(int index);
  // Sums one counter, picked by `get`, over all threads.
  template <class Get>
  uint64_t Sum(Get get) const;
  template <class Rng>
  void RunForgedFlood(int fd, const std::vector<uint32_t>& source_ips,
                      bool use_pktinfo, int64_t deadline, Rng rng,
                      LoadCounters& ctr);

  const LoadConfig config_;
  std::vector<std::unique_ptr<LoadCounters>> counters_;
  std::vector<LoadThreadResult> results_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> running_{0};
  std::atomic<uint64_t> fill_done_{0};
  std::atomic<bool> fill_stalled_{false};
};

}  // namespace ringtrack

#endif  // RINGTRACK_TOOLS_LOAD_GENERATOR_H_
