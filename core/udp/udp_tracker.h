// UdpTracker: the BEP 15 front end of the tracker. Turns one datagram from
// one source address into calls on the tracker core (core/tracker/) and
// writes the BEP 15 reply (or none). It owns what only UDP has: connection
// IDs, the codec (core/udp/protocol.h) and the batch look-ahead; the rules
// themselves are the core's (see core/tracker/tracker.h).
//
// Rules (see README "Rules on the wire"):
//   * connect with the right magic → 16-byte reply (never larger than the
//     16-byte request: no amplification before the sender is proven).
//   * announce/scrape need a connection ID valid for the sender's address;
//     otherwise no reply at all.
//   * a scrape with no hashes → the BEP 15 error "no info hashes"; a core
//     refusal (Refusal) → a BEP 15 error with RefusalMessage() (the sender
//     has proven its address by then).
//   * anything the codec refuses → no reply, counted by reason.
//   * a datagram a receive buffer cut (BatchItem::wire_size) → the reply
//     the whole datagram gets, when the loop kept at least
//     protocol::kMaxMeaningfulRequestSize bytes of it (they all do).
//
// Thread safety: Handle() and HandleBatch() may run on many threads at
// once; each passes its own UdpStats, which only that thread writes
// (readers may load the counters concurrently).
#ifndef RINGTRACK_CORE_UDP_UDP_TRACKER_H_
#define RINGTRACK_CORE_UDP_UDP_TRACKER_H_

#include <array>
#include <cstdint>
#include <span>

#include "core/tracker/tracker.h"
#include "core/udp/connection_id.h"
#include "core/udp/protocol.h"

namespace ringtrack {

// Large enough for every reply: 20 + 200·6 bytes is the largest announce.
inline constexpr size_t kMaxUdpReplySize = 1280;
static_assert(protocol::kAnnounceResponseHeaderSize + kMaxPeersOut *
                      kCompactPeerSizeV4 <= kMaxUdpReplySize,
              "the largest IPv4 announce reply fits");

// One thread's counters of its UDP requests.
struct UdpStats {
  // Requests by the sender's family ([0] IPv4, [1] IPv6), type and outcome.
  std::array<std::array<std::array<Counter, kOutcomes>, kRequestKinds>, 2>
      requests;
  std::array<Counter, static_cast<size_t>(protocol::ParseError::kCount)>
      invalid;  // by reason
  Counter bytes_in;
  Counter bytes_out;
  // The core's counters for the announces and scrapes that came over UDP.
  TrackerStats tracker;

  // The count of one family, type and outcome.
  uint64_t value(int family, RequestKind t, Outcome o) const {
    return requests[family][static_cast<size_t>(t)][static_cast<size_t>(o)]
        .value();
  }
};

struct UdpResult {
  size_t reply_size = 0;  // 0: send nothing
  RequestKind type = RequestKind::kUnknown;
  Outcome outcome = Outcome::kInvalid;
};

class UdpTracker {
 public:
  // REQUIRES: tracker and ids outlive the UdpTracker.
  UdpTracker(Tracker* tracker, ConnectionIds* ids);

  // Handles `datagram` from `from` at Unix time `now`; `random` varies the
  // peers picked. Writes the reply into `reply` and counts into `stats`.
  // REQUIRES: reply.size() >= kMaxUdpReplySize.
  UdpResult Handle(std::span<const uint8_t> datagram, const PeerEndpoint& from,
                   uint32_t now, uint64_t random, std::span<uint8_t> reply,
                   UdpStats* stats);

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
    std::span<uint8_t> reply;  // REQUIRES: size() >= kMaxUdpReplySize
    UdpResult result;          // out
  };
  // How many datagrams ahead HandleBatch() looks up each step.
  static constexpr size_t kLookaheadDistance = 4;
  // Handle() on each item in order, all at time `now`, with the same
  // results, but faster on a state larger than the caches: while one
  // datagram is handled, the announce kLookaheadDistance later finds its
  // swarm, starts fetching its peers and looks its requester's network up,
  // and the one twice as far starts fetching its swarm's slot and its
  // network's map index (Tracker::Lookahead), so the cache misses of
  // several announces overlap instead of following one another.
  void HandleBatch(std::span<BatchItem> items, uint32_t now, UdpStats* stats);

  Tracker* tracker() const { return tracker_; }

 private:
  // Handle() of a datagram `wire_size` bytes long on the wire (see
  // BatchItem); `la` (if any) is the lookahead of a datagram HandleBatch()
  // found to be an announce with a valid connection ID.
  // REQUIRES: wire_size >= datagram.size().
  UdpResult HandleOne(std::span<const uint8_t> datagram, size_t wire_size,
                      const PeerEndpoint& from, uint32_t now, uint64_t random,
                      std::span<uint8_t> reply, UdpStats* stats,
                      const Tracker::Lookahead* la);
  size_t HandleAnnounce(const protocol::AnnounceRequest& a,
                        const PeerEndpoint& from, uint32_t now, uint64_t random,
                        const Tracker::Lookahead* la,
                        std::span<uint8_t> reply, UdpStats* stats,
                        Outcome* outcome);
  size_t HandleScrape(const protocol::ScrapeRequest& s,
                      std::span<uint8_t> reply, UdpStats* stats,
                      Outcome* outcome);

  Tracker* const tracker_;
  ConnectionIds* const ids_;
};

// The core's announce for BEP 15 request `a` from `from`: the peer is the
// source address with the announced port (the IP field is ignored).
AnnounceRequest CoreRequestOf(const protocol::AnnounceRequest& a,
                              const PeerEndpoint& from);

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_UDP_UDP_TRACKER_H_
