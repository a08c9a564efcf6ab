// Tracker: the one set of tracker rules, below both front ends.
//
// The BEP 15 front end (core/udp/udp_tracker.h) and the HTTP front end
// (core/http/http_tracker.h) only translate bytes into the typed requests
// below and the results back into bytes; every rule lives here or in the
// swarm store beneath (core/swarm/), once:
//   * the access list: an info hash it refuses gets Refusal::kNotAllowed
//     and no swarm is made;
//   * port 0 gets Refusal::kInvalidPort;
//   * a new torrent at the memory budget or --max-torrents gets
//     kTrackerFull, from a source creating torrents too fast kRateLimited
//     (SwarmTable: the budget, the caps, the per-source rate);
//   * the peer is the address the request came from with the port it
//     announced (a BEP 15 IP field or an HTTP `ip=` parameter is never
//     read: nobody can announce someone else);
//   * numwant is the request's (or the default), capped per family;
//   * the role rules, stopped/completed and expiry are the swarm table's.
// So a peer announced over HTTP and one announced over UDP are stored
// alike in the same swarm and find each other.
//
// Thread safety: Announce() and Scrape() may run on many threads at once;
// each passes its own TrackerStats, which only that thread writes (readers
// may load the counters concurrently). SetConfig() and SetAccessList() may
// run on another thread concurrently: a request sees each setting old or
// new, and the access list old or new, whole (an atomic pointer swap).
// SetAccessList() hands the replaced list back to the caller, which frees
// it once no request can still hold it: the daemon waits for a grace
// period of its workers (core/base/quiescence.h).
#ifndef RINGTRACK_CORE_TRACKER_TRACKER_H_
#define RINGTRACK_CORE_TRACKER_TRACKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/base/types.h"
#include "core/netmap/network_map.h"
#include "core/swarm/swarm_table.h"
#include "core/tracker/access_list.h"

namespace ringtrack {

struct TrackerConfig {
  uint32_t interval_s = 1800;
  uint32_t default_numwant = 50;
  // The caps keep a BEP 15 reply within one 1280-byte IPv6 minimum MTU
  // datagram: 20 + 200·6 = 1220 bytes, 20 + 66·18 = 1208 bytes. HTTP uses
  // the same caps so both protocols hand out the same number of peers.
  uint32_t max_numwant_v4 = 200;
  uint32_t max_numwant_v6 = 66;
  // With a network map: the share of a reply taken from the requester's
  // network (Locality), in [0, 1].
  double locality_share = 0.75;
};

// The most peers one announce can be given, whatever the configuration:
// SetConfig() and the constructor clamp the caps to it, so a caller's
// peer buffer of kMaxPeersOut · 18 bytes is always enough.
inline constexpr uint32_t kMaxPeersOut = 200;
inline constexpr size_t kMaxPeersOutBytes = kMaxPeersOut * kCompactPeerSizeV6;

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

// The protocols in front of the tracker, for metric labels.
enum class Protocol : uint8_t { kUdp = 0, kHttp = 1, kCount };
std::string_view ProtocolName(Protocol p);  // "udp", "http"

// What a request asked for, and what came of it: the two labels every
// request is counted under, by each front end and protocol
// (ringtrack_requests_total{protocol=…,type=…,outcome=…}).
// Each list is the one place its names are written: X(enumerator, name).
#define RT_REQUEST_KINDS(X)                                              \
  X(kConnect, "connect")                                                 \
  X(kAnnounce, "announce")                                               \
  X(kScrape, "scrape")                                                   \
  /* refused by the codec before its action could be trusted */          \
  X(kUnknown, "unknown")
#define RT_OUTCOMES(X)                                                   \
  X(kOk, "ok")                           /* answered as asked */         \
  X(kError, "error")   /* answered with a protocol error (BEP 15 error, HTTP failure reason) */ \
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


// Why an announce or scrape was refused. Each front end sends the client
// RefusalMessage(): BEP 15 as an error reply, HTTP as `failure reason`.
enum class Refusal : uint8_t {
  kNone = 0,
  kNotAllowed,   // the access list refuses the info hash
  kInvalidPort,  // announce with port 0
  kTrackerFull,  // new torrent at the budget or --max-torrents
  kRateLimited,  // new torrent from a source over its rate
  kCount,
};
// The text the client shows, e.g. "torrent not allowed".
std::string_view RefusalMessage(Refusal r);
// A short name for metric labels, e.g. "not_allowed".
std::string_view RefusalName(Refusal r);

// One announce, as every front end hands it to the tracker.
struct AnnounceRequest {
  InfoHash info_hash;
  std::array<uint8_t, kPeerIdSize> peer_id{};
  // The requester: the address the request came from (UDP source, TCP
  // peer or a trusted proxy's client) and the port it announced.
  PeerEndpoint peer;
  Event event = Event::kNone;
  uint64_t uploaded = 0;
  uint64_t downloaded = 0;
  uint64_t left = 0;    // 0: a seeder
  int32_t numwant = -1;  // < 0: the tracker's default
  uint32_t key = 0;
};

// What an announce got (the swarm table's AnnounceResult, as the
// protocols report it). Peers are written into the caller's span.
struct AnnounceReply {
  Refusal refusal = Refusal::kNone;  // kNone: answered with peers
  uint32_t interval = 0;             // seconds
  uint32_t min_interval = 0;         // seconds
  uint32_t complete = 0;             // seeders, after this announce
  uint32_t incomplete = 0;           // leechers, after this announce
  // Entries written, each CompactPeerSize(family) bytes: peers of the
  // requester's family (never itself; a seeder gets only leechers).
  uint32_t peer_count = 0;
  AddressFamily family = AddressFamily::kV4;
  size_t peer_bytes() const { return peer_count * CompactPeerSize(family); }
};

// Counters of one protocol's requests on one thread (one writer).
struct TrackerStats {
  Counter announces;  // answered with peers
  Counter scrapes;    // answered with counts
  Counter scraped_hashes;
  std::array<Counter, static_cast<size_t>(Refusal::kCount)> refused;  // by why
  // With a network map: peers handed out in the requester's network and
  // in others, by replies locality shaped (LocalityTally: a reply holding
  // every eligible peer is not), and announces from requesters outside
  // the map.
  Counter peers_local;
  Counter peers_remote;
  Counter outside_map;

  uint64_t refused_total() const;
};

class Tracker {
 public:
  // REQUIRES: table outlives the Tracker.
  Tracker(const TrackerConfig& config, SwarmTable* table);

  // Announces `r` at Unix time `now`; `random` varies the peers picked.
  // Writes the peers into `peers_out` (as many whole entries as fit) and
  // counts into `stats`.
  // REQUIRES: peers_out.size() >= kMaxPeersOutBytes, or the caller accepts
  // fewer peers than numwant.
  AnnounceReply Announce(const AnnounceRequest& r, uint32_t now,
                          uint64_t random, std::span<uint8_t> peers_out,
                          TrackerStats* stats);

  // One announce's lookups begun ahead of it: the swarm's
  // (SwarmTable::Lookahead) and, with a network map, the requester's
  // network, so a front end that pipelines a batch overlaps their cache
  // misses with other announces' work.
  class Lookahead {
   public:
    Lookahead() = default;

   private:
    friend class Tracker;
    SwarmTable::Lookahead table;
    // The map read when the lookahead began (it stays valid for the batch:
    // a replaced map is freed only after a grace period) and, once
    // ContinueLookup() ran, the requester's network in it.
    const NetworkMap* map = nullptr;
    NetworkId network = kOutsideMap;
    bool looked_up = false;
  };
  // The same, with the lookups begun ahead, for a front end that pipelines
  // a batch: StartLookup() with ParamsOf(r) some requests ahead, then
  // ContinueLookup(), then this.
  // REQUIRES: la was made for ParamsOf(r, now, random).
  AnnounceReply Announce(const AnnounceRequest& r, uint32_t now,
                          uint64_t random, std::span<uint8_t> peers_out,
                          TrackerStats* stats, const Lookahead& la);
  // The swarm table's announce for `r`: the peer, its role, the capped
  // numwant. A lookahead and the announce itself use the same.
  AnnounceParams ParamsOf(const AnnounceRequest& r, uint32_t now,
                          uint64_t random) const;
  // Starts fetching the swarm's slots and the first line of the
  // requester's map lookup.
  void StartLookup(const AnnounceParams& p, Lookahead* la) const {
    table_->StartLookup(p.info_hash, &la->table);
    la->map = network_.load(std::memory_order_acquire);
    la->looked_up = false;
    if (la->map != nullptr) la->map->Prefetch(p.peer);
  }
  // Looks the requester's network up, then finds the swarm and starts
  // fetching its peers and, for a shaped reply, its network's index.
  void ContinueLookup(const AnnounceParams& p, Lookahead* la) const {
    if (la->map == nullptr) {
      table_->ContinueLookup(p, &la->table);
      return;
    }
    la->network = la->map->Lookup(p.peer);
    la->looked_up = true;
    AnnounceParams shaped = p;
    shaped.locality = LocalityOf(la->map, la->network);
    table_->ContinueLookup(shaped, &la->table);
  }

  // Scrapes `hashes` (20 raw bytes each, back to back) into out[i]. If the
  // access list refuses any of them nothing is written and the result is
  // kNotAllowed (one refused hash refuses the request, as BEP 15 has one
  // error per reply).
  // REQUIRES: hashes.size() % 20 == 0, out.size() >= hashes.size() / 20.
  Refusal Scrape(std::span<const uint8_t> hashes, std::span<SwarmCounts> out,
                 TrackerStats* stats);

  // Changes interval and numwant limits for the requests that follow (a
  // reload); each field is read on its own, relaxed. The table's eviction
  // age follows the interval (SwarmTable::SetAnnounceInterval).
  void SetConfig(const TrackerConfig& config);
  uint32_t interval_s() const {
    return interval_s_.load(std::memory_order_relaxed);
  }

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

  SwarmTable* table() const { return table_; }

 private:
  // Refusal for `r` before the table is asked: access list, port.
  Refusal Check(const AnnounceRequest& r) const;
  // ParamsOf() and, with a network map, the requester's network (looked
  // up here, once, not in ParamsOf(): the lookahead does not need it).
  AnnounceParams ShapedParamsOf(const AnnounceRequest& r, uint32_t now,
                                uint64_t random, TrackerStats* stats,
                                const Lookahead* la = nullptr) const;
  // Locality with `map` for a requester in `network`, at the live share.
  Locality LocalityOf(const NetworkMap* map, NetworkId network) const {
    return {map, network, locality_share_q16_.load(std::memory_order_relaxed)};
  }
  // The result of the table's announce, counted.
  AnnounceReply Finish(const AnnounceRequest& r, const AnnounceParams& p,
                       const AnnounceResult& table_result,
                       TrackerStats* stats) const;

  // Live settings: written by SetConfig(), read per request (relaxed: each
  // is a self-contained number).
  std::atomic<uint32_t> interval_s_;
  std::atomic<uint32_t> default_numwant_;
  std::atomic<uint32_t> max_numwant_v4_;
  std::atomic<uint32_t> max_numwant_v6_;
  SwarmTable* const table_;
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
