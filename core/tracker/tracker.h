// Tracker: turns one datagram from one source address into one reply (or
// none). This is all of BEP 15's server-side semantics, free of sockets, so
// the io_uring loop, the recvmmsg loop and the tests share it.
//
// Rules (see README "Rules on the wire"):
//   * connect with the right magic → 16-byte reply (never larger than the
//     16-byte request: no amplification before the sender is proven).
//   * announce/scrape need a connection ID valid for the sender's address;
//     otherwise no reply at all.
//   * announce with port 0, scrape with no hashes, a new torrent at the
//     memory budget ("tracker is full"), or a new torrent from a source
//     creating torrents too fast → a BEP 15 error (the sender has proven
//     its address by then). A newcomer to a swarm that holds peers is
//     answered with peers even at the budget (not stored). The table
//     counts refusals and unstored peers by kind.
//   * an announce or scrape for an info hash the access list refuses → the
//     BEP 15 error "torrent not allowed" (counted), and no swarm is made.
//   * anything the codec refuses → no reply, counted by reason.
//   * a datagram a receive buffer cut (BatchItem::wire_size) → the reply
//     the whole datagram gets, when the loop kept at least
//     protocol::kMaxMeaningfulRequestSize bytes of it (they all do).
//
// Thread safety: Handle() may run on many threads at once; each passes its
// own TrackerStats, which only that thread writes (readers may load the
// counters concurrently). SetAccessList() may run on another thread
// concurrently: a request sees the old list or the new one, whole (an
// atomic pointer swap). It hands the replaced list back to the caller,
// which frees it once no request can still hold it: the daemon waits for
// a grace period of its workers (core/base/quiescence.h).
#ifndef RINGTRACK_CORE_TRACKER_TRACKER_H_
#define RINGTRACK_CORE_TRACKER_TRACKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/netmap/network_map.h"
#include "core/tracker/access_list.h"
#include "core/udp/connection_id.h"
#include "core/udp/protocol.h"
#include "core/swarm/swarm_table.h"

namespace ringtrack {

// Large enough for every reply: 20 + 200·6 bytes is the largest announce.
inline constexpr size_t kMaxReplySize = 1280;

struct TrackerConfig {
  uint32_t interval_s = 1800;
  uint32_t default_numwant = 50;
  uint32_t max_numwant_v4 = 200;  // 20 + 200·6 = 1220 bytes
  uint32_t max_numwant_v6 = 66;   // 20 + 66·18 = 1208 bytes
  // With a network map: the share of a reply taken from the requester's
  // network (Locality), in [0, 1].
  double locality_share = 0.75;
};

// A counter with one writer: increments are a plain load+store (no locked
// instruction), readers on other threads see a recent value.
class Counter {
 public:
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// What a request asked for, and what came of it: the two labels every
// request is counted under (ringtrack_requests_total{type=…,outcome=…}).
// Each list is the one place its names are written: X(enumerator, name).
#define RT_REQUEST_KINDS(X)                                              \
  X(kConnect, "connect")                                                 \
  X(kAnnounce, "announce")                                               \
  X(kScrape, "scrape")                                                   \
  /* refused by the codec before its action could be trusted */          \
  X(kUnknown, "unknown")
#define RT_OUTCOMES(X)                                                   \
  X(kOk, "ok")                           /* answered as asked */         \
  X(kError, "error")                     /* answered with a BEP 15 error */ \
  X(kBadConnectionId, "bad_connection_id") /* dropped */                 \
  X(kInvalid, "invalid")                 /* dropped: the codec refused it */

#define RT_ENUMERATOR(e, name) e,
enum class RequestKind : uint8_t { RT_REQUEST_KINDS(RT_ENUMERATOR) kCount };
enum class Outcome : uint8_t { RT_OUTCOMES(RT_ENUMERATOR) kCount };
#undef RT_ENUMERATOR

inline constexpr size_t kRequestKinds = static_cast<size_t>(RequestKind::kCount);
inline constexpr size_t kOutcomes = static_cast<size_t>(Outcome::kCount);

// The label value of each ("announce", "bad_connection_id").
std::string_view RequestKindName(RequestKind t);
std::string_view OutcomeName(Outcome o);

struct TrackerStats {
  // Requests by the sender's family ([0] IPv4, [1] IPv6), type and outcome.
  std::array<std::array<std::array<Counter, kOutcomes>, kRequestKinds>, 2>
      requests;
  std::array<Counter, static_cast<size_t>(protocol::ParseError::kCount)>
      invalid;  // by reason
  Counter bytes_in;
  Counter bytes_out;
  Counter not_allowed;  // announces/scrapes refused by the access list
  // With a network map: peers handed out in the requester's network and
  // in others, by replies locality shaped (LocalityTally: a reply holding
  // every eligible peer is not), and announces from requesters outside
  // the map.
  Counter peers_local;
  Counter peers_remote;
  Counter outside_map;

  // The count of one family, type and outcome.
  uint64_t value(int family, RequestKind t, Outcome o) const {
    return requests[family][static_cast<size_t>(t)][static_cast<size_t>(o)]
        .value();
  }
};

struct HandleResult {
  size_t reply_size = 0;  // 0: send nothing
  RequestKind type = RequestKind::kUnknown;
  Outcome outcome = Outcome::kInvalid;
};

class Tracker {
 public:
  // REQUIRES: table and ids outlive the Tracker.
  Tracker(const TrackerConfig& config, SwarmTable* table, ConnectionIds* ids);

  // Handles `datagram` from `from` at Unix time `now`; `random` varies the
  // peers picked. Writes the reply into `reply` and counts into `stats`.
  // REQUIRES: reply.size() >= kMaxReplySize.
  HandleResult Handle(std::span<const uint8_t> datagram,
                      const PeerEndpoint& from, uint32_t now, uint64_t random,
                      std::span<uint8_t> reply, TrackerStats* stats);

  // One datagram of a batch: Handle()'s arguments and its result.
  struct BatchItem {
    std::span<const uint8_t> datagram;
    // The datagram's length on the wire when a receive buffer kept only
    // `datagram` of it (larger than datagram.size()); a smaller value means
    // whole. It is answered as protocol::ParseRequest(datagram, wire_size)
    // reads it: as if whole when at least kMaxMeaningfulRequestSize bytes
    // (or all of it) were kept.
    size_t wire_size = 0;
    PeerEndpoint from;
    uint64_t random = 0;
    std::span<uint8_t> reply;  // REQUIRES: size() >= kMaxReplySize
    HandleResult result;       // out
  };
  // How many datagrams ahead HandleBatch() looks up each step.
  static constexpr size_t kLookaheadDistance = 4;
  // Handle() on each item in order, all at time `now`, with the same
  // results, but faster on a state larger than the caches: while one
  // datagram is handled, the announce kLookaheadDistance later finds its
  // swarm and starts fetching its peers, and the one twice as far starts
  // fetching its swarm's slot (SwarmTable::Lookahead), so the cache misses
  // of several announces overlap instead of following one another.
  void HandleBatch(std::span<BatchItem> items, uint32_t now,
                   TrackerStats* stats);

  // Changes interval and numwant limits for the requests that follow (a
  // reload); each field is read on its own, relaxed. The table's eviction
  // age follows the interval (SwarmTable::SetAnnounceInterval).
  void SetConfig(const TrackerConfig& config);

  // Makes `list` the access list (nullptr: serve every info hash) and
  // returns the one it replaces. Requests already running may still read
  // the returned list: free it only after they are done (a grace period).
  // REQUIRES: one caller at a time.
  [[nodiscard]] std::unique_ptr<const AccessList> SetAccessList(
      std::unique_ptr<const AccessList> list);
  const AccessList* access_list() const {
    return access_.load(std::memory_order_acquire);
  }
  // Makes `map` the network map for locality-aware selection (nullptr: the
  // random selection) and returns the one it replaces, under the same
  // rules as SetAccessList().
  [[nodiscard]] std::unique_ptr<const NetworkMap> SetNetworkMap(
      std::unique_ptr<const NetworkMap> map);
  const NetworkMap* network_map() const {
    return network_.load(std::memory_order_acquire);
  }

 private:
  // Handle() of a datagram `wire_size` bytes long on the wire (see
  // BatchItem); `la` (if any) is the lookahead of a datagram HandleBatch()
  // found to be an announce with a valid connection ID.
  // REQUIRES: wire_size >= datagram.size().
  HandleResult HandleOne(std::span<const uint8_t> datagram, size_t wire_size,
                         const PeerEndpoint& from, uint32_t now,
                         uint64_t random, std::span<uint8_t> reply,
                         TrackerStats* stats, const SwarmTable::Lookahead* la);
  size_t HandleAnnounce(const protocol::AnnounceRequest& a,
                        const PeerEndpoint& from, uint32_t now, uint64_t random,
                        const SwarmTable::Lookahead* la,
                        std::span<uint8_t> reply, TrackerStats* stats,
                        Outcome* outcome);
  // The table's announce for request `a` from `from`: the peer is its
  // source address, numwant is its num_want (or the default), capped.
  // HandleBatch()'s lookahead and the announce itself use the same.
  AnnounceParams ParamsOf(const protocol::AnnounceRequest& a,
                          const PeerEndpoint& from, uint32_t now,
                          uint64_t random) const;
  size_t HandleScrape(const protocol::ScrapeRequest& s,
                      std::span<uint8_t> reply, TrackerStats* stats,
                      Outcome* outcome);

  // Live settings: written by SetConfig(), read per request (relaxed: each
  // is a self-contained number).
  std::atomic<uint32_t> interval_s_;
  std::atomic<uint32_t> default_numwant_;
  std::atomic<uint32_t> max_numwant_v4_;
  std::atomic<uint32_t> max_numwant_v6_;
  SwarmTable* const table_;
  ConnectionIds* const ids_;
  // Acquire/release: a reader that sees the pointer sees the whole list.
  std::atomic<const AccessList*> access_{nullptr};
  // Owns *access_; modified only by SetAccessList().
  std::unique_ptr<const AccessList> access_owned_;
  // The same for the network map and SetNetworkMap().
  std::atomic<const NetworkMap*> network_{nullptr};
  std::unique_ptr<const NetworkMap> network_owned_;
  std::atomic<uint32_t> locality_share_q16_;  // TrackerConfig::locality_share
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_TRACKER_TRACKER_H_
