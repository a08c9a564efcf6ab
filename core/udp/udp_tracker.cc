#include "core/udp/udp_tracker.h"

#include <algorithm>

namespace ringtrack {

using protocol::Action;
using protocol::ParseError;

namespace {

size_t WireSize(const UdpTracker::BatchItem& it) {
  return std::max(it.wire_size, it.datagram.size());
}

void Count(const PeerEndpoint& from, const UdpResult& r, UdpStats* stats) {
  stats->requests[from.family == AddressFamily::kV6]
                 [static_cast<size_t>(r.type)][static_cast<size_t>(r.outcome)]
                     .Add();
}

}  // namespace

static_assert(protocol::kPeerEntrySizeV4 == kCompactPeerSizeV4 &&
                  protocol::kPeerEntrySizeV6 == kCompactPeerSizeV6,
              "BEP 15 peer entries are the compact form the core writes");

AnnounceRequest CoreRequestOf(const protocol::AnnounceRequest& a,
                              const PeerEndpoint& from) {
  // BEP 15's IP field is ignored: a peer is always its source address, so
  // nobody can announce someone else.
  AnnounceRequest r;
  r.info_hash = a.info_hash;
  r.peer_id = a.peer_id;
  r.peer = from;
  r.peer.port = a.port;
  r.event = a.event;
  r.uploaded = a.uploaded;
  r.downloaded = a.downloaded;
  r.left = a.left;
  r.numwant = a.num_want;
  r.key = a.key;
  return r;
}

UdpTracker::UdpTracker(Tracker* tracker, ConnectionIds* ids)
    : tracker_(tracker), ids_(ids) {}

UdpResult UdpTracker::Handle(std::span<const uint8_t> datagram,
                             const PeerEndpoint& from, uint32_t now,
                             uint64_t random, std::span<uint8_t> reply,
                             UdpStats* stats) {
  return HandleOne(datagram, datagram.size(), from, now, random, reply, stats,
                   nullptr);
}

void UdpTracker::HandleBatch(std::span<BatchItem> items, uint32_t now,
                             UdpStats* stats) {
  // What the first step learnt about one datagram: a valid announce from a
  // proven address gets a lookahead. A ring of them: datagram j is in
  // ahead[j % kRing] from its first step to its last.
  struct Ahead {
    AnnounceParams p;
    Tracker::Lookahead la;
    bool announce = false;
  };
  constexpr size_t kD = kLookaheadDistance;
  constexpr size_t kRing = 2 * kD + 1;
  std::array<Ahead, kRing> ahead;
  protocol::Request req;
  const size_t n = items.size();
  // A software pipeline: while datagram j is handled, j + kD has its swarm
  // looked up (its slot has had kD handlings' time to arrive) and j + 2·kD
  // starts fetching its slot.
  for (size_t j = 0; j < n + 2 * kD; ++j) {
    if (j < n) {
      const BatchItem& it = items[j];
      Ahead& a = ahead[j % kRing];
      a.announce =
          protocol::ParseRequest(it.datagram, WireSize(it), &req) ==
              ParseError::kNone &&
          req.action == Action::kAnnounce &&
          ids_->Verify(req.announce.connection_id, it.from, now);
      if (a.announce) {
        a.p = tracker_->ParamsOf(CoreRequestOf(req.announce, it.from), now,
                                 it.random);
        tracker_->StartLookup(a.p, &a.la);
      }
    }
    if (j >= kD && j - kD < n) {
      Ahead& a = ahead[(j - kD) % kRing];
      if (a.announce) tracker_->ContinueLookup(a.p, &a.la);
    }
    if (j >= 2 * kD) {
      BatchItem& it = items[j - 2 * kD];
      const Ahead& a = ahead[(j - 2 * kD) % kRing];
      it.result = HandleOne(it.datagram, WireSize(it), it.from, now,
                            it.random, it.reply, stats,
                            a.announce ? &a.la : nullptr);
    }
  }
}

UdpResult UdpTracker::HandleOne(std::span<const uint8_t> datagram,
                                size_t wire_size, const PeerEndpoint& from,
                                uint32_t now, uint64_t random,
                                std::span<uint8_t> reply, UdpStats* stats,
                                const Tracker::Lookahead* la) {
  UdpResult r;
  stats->bytes_in.Add(wire_size);
  protocol::Request req;
  const ParseError err = protocol::ParseRequest(datagram, wire_size, &req);
  if (err != ParseError::kNone && !protocol::IsAnswerable(err)) {
    stats->invalid[static_cast<size_t>(err)].Add();
    Count(from, r, stats);
    return r;
  }
  r.type = req.action == Action::kConnect    ? RequestKind::kConnect
           : req.action == Action::kAnnounce ? RequestKind::kAnnounce
                                             : RequestKind::kScrape;
  r.outcome = Outcome::kOk;
  if (req.action == Action::kConnect) {
    r.reply_size = protocol::WriteConnectResponse(
        reply, req.connect.transaction_id, ids_->Make(from, now));
  } else if (la == nullptr && !ids_->Verify(req.connection_id(), from, now)) {
    // (A lookahead is made only for an announce whose ID was verified.)
    r.outcome = Outcome::kBadConnectionId;
  } else if (err != ParseError::kNone) {
    stats->invalid[static_cast<size_t>(err)].Add();
    r.reply_size = protocol::WriteErrorResponse(reply, req.transaction_id(),
                                                "no info hashes");
    r.outcome = Outcome::kError;
  } else if (req.action == Action::kAnnounce) {
    r.reply_size = HandleAnnounce(req.announce, from, now, random, la, reply,
                                  stats, &r.outcome);
  } else {
    r.reply_size = HandleScrape(req.scrape, reply, stats, &r.outcome);
  }
  Count(from, r, stats);
  stats->bytes_out.Add(r.reply_size);
  return r;
}

size_t UdpTracker::HandleAnnounce(const protocol::AnnounceRequest& a,
                                  const PeerEndpoint& from, uint32_t now,
                                  uint64_t random,
                                  const Tracker::Lookahead* la,
                                  std::span<uint8_t> reply, UdpStats* stats,
                                  Outcome* outcome) {
  const AnnounceRequest r = CoreRequestOf(a, from);
  const size_t hdr = protocol::kAnnounceResponseHeaderSize;
  const AnnounceReply res =
      la ? tracker_->Announce(r, now, random, reply.subspan(hdr),
                              &stats->tracker, *la)
         : tracker_->Announce(r, now, random, reply.subspan(hdr),
                              &stats->tracker);
  if (res.refusal != Refusal::kNone) {
    *outcome = Outcome::kError;
    return protocol::WriteErrorResponse(reply, a.transaction_id,
                                        RefusalMessage(res.refusal));
  }
  protocol::WriteAnnounceResponseHeader(reply, a.transaction_id, res.interval,
                                        res.incomplete, res.complete);
  return hdr + res.peer_bytes();
}

size_t UdpTracker::HandleScrape(const protocol::ScrapeRequest& s,
                                std::span<uint8_t> reply, UdpStats* stats,
                                Outcome* outcome) {
  std::array<SwarmCounts, protocol::kMaxScrapeHashes> counts;
  const Refusal why = tracker_->Scrape(
      {s.hashes, s.hash_count * kInfoHashSize}, counts, &stats->tracker);
  if (why != Refusal::kNone) {
    *outcome = Outcome::kError;
    return protocol::WriteErrorResponse(reply, s.transaction_id,
                                        RefusalMessage(why));
  }
  size_t n = protocol::WriteScrapeResponseHeader(reply, s.transaction_id);
  for (size_t i = 0; i < s.hash_count; ++i) {
    n += protocol::WriteScrapeEntry(reply.subspan(n), counts[i].seeders,
                                    counts[i].completed, counts[i].leechers);
  }
  return n;
}

}  // namespace ringtrack
