#include "core/tracker/tracker.h"

#include <algorithm>


namespace ringtrack {

using protocol::Action;
using protocol::ParseError;

namespace {

size_t WireSize(const Tracker::BatchItem& it) {
  return std::max(it.wire_size, it.datagram.size());
}

// TrackerConfig::locality_share as Locality::share_q16.
uint32_t ShareQ16(double share) {
  return static_cast<uint32_t>(std::clamp(share, 0.0, 1.0) * 65536.0 + 0.5);
}

void Count(const PeerEndpoint& from, const HandleResult& r,
           TrackerStats* stats) {
  stats->requests[from.family == AddressFamily::kV6]
                 [static_cast<size_t>(r.type)][static_cast<size_t>(r.outcome)]
                     .Add();
}

}  // namespace

std::string_view RequestKindName(RequestKind t) {
#define RT_NAME(e, name) name,
  static constexpr std::string_view kNames[] = {RT_REQUEST_KINDS(RT_NAME)};
#undef RT_NAME
  return kNames[static_cast<size_t>(t)];
}

std::string_view OutcomeName(Outcome o) {
#define RT_NAME(e, name) name,
  static constexpr std::string_view kNames[] = {RT_OUTCOMES(RT_NAME)};
#undef RT_NAME
  return kNames[static_cast<size_t>(o)];
}

Tracker::Tracker(const TrackerConfig& config, SwarmTable* table,
                 ConnectionIds* ids)
    : interval_s_(config.interval_s),
      default_numwant_(config.default_numwant),
      max_numwant_v4_(config.max_numwant_v4),
      max_numwant_v6_(config.max_numwant_v6),
      table_(table),
      ids_(ids),
      locality_share_q16_(ShareQ16(config.locality_share)) {
  table_->SetAnnounceInterval(config.interval_s);
}

void Tracker::SetConfig(const TrackerConfig& c) {
  // The table evicts at the budget only peers that missed this interval.
  table_->SetAnnounceInterval(c.interval_s);
  interval_s_.store(c.interval_s, std::memory_order_relaxed);
  default_numwant_.store(c.default_numwant, std::memory_order_relaxed);
  max_numwant_v4_.store(c.max_numwant_v4, std::memory_order_relaxed);
  max_numwant_v6_.store(c.max_numwant_v6, std::memory_order_relaxed);
  locality_share_q16_.store(ShareQ16(c.locality_share),
                            std::memory_order_relaxed);
}

HandleResult Tracker::Handle(std::span<const uint8_t> datagram,
                             const PeerEndpoint& from, uint32_t now,
                             uint64_t random, std::span<uint8_t> reply,
                             TrackerStats* stats) {
  return HandleOne(datagram, datagram.size(), from, now, random, reply, stats,
                   nullptr);
}

void Tracker::HandleBatch(std::span<BatchItem> items, uint32_t now,
                          TrackerStats* stats) {
  // What the first step learnt about one datagram: a valid announce from a
  // proven address gets a lookahead. A ring of them: datagram j is in
  // ahead[j % kRing] from its first step to its last.
  struct Ahead {
    AnnounceParams p;
    SwarmTable::Lookahead la;
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
        a.p = ParamsOf(req.announce, it.from, now, it.random);
        table_->StartLookup(a.p.info_hash, &a.la);
      }
    }
    if (j >= kD && j - kD < n) {
      Ahead& a = ahead[(j - kD) % kRing];
      if (a.announce) table_->ContinueLookup(a.p, &a.la);
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

HandleResult Tracker::HandleOne(std::span<const uint8_t> datagram,
                                size_t wire_size, const PeerEndpoint& from,
                                uint32_t now, uint64_t random,
                                std::span<uint8_t> reply, TrackerStats* stats,
                                const SwarmTable::Lookahead* la) {
  HandleResult r;
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
    r.reply_size = HandleAnnounce(req.announce, from, now, random, la,
                                  reply, stats, &r.outcome);
  } else {
    r.reply_size = HandleScrape(req.scrape, reply, stats, &r.outcome);
  }
  Count(from, r, stats);
  stats->bytes_out.Add(r.reply_size);
  return r;
}

size_t Tracker::HandleAnnounce(const protocol::AnnounceRequest& a,
                               const PeerEndpoint& from, uint32_t now,
                               uint64_t random,
                               const SwarmTable::Lookahead* la,
                               std::span<uint8_t> reply, TrackerStats* stats,
                               Outcome* outcome) {
  if (const AccessList* l = access_.load(std::memory_order_acquire);
      l != nullptr && !l->Allows(a.info_hash)) {
    stats->not_allowed.Add();
    *outcome = Outcome::kError;
    return protocol::WriteErrorResponse(reply, a.transaction_id,
                                        "torrent not allowed");
  }
  if (a.port == 0) {
    *outcome = Outcome::kError;
    return protocol::WriteErrorResponse(reply, a.transaction_id,
                                        "invalid port");
  }
  AnnounceParams p = ParamsOf(a, from, now, random);
  // The network is looked up here, once, not in ParamsOf(): the lookahead
  // does not need it.
  const NetworkMap* map = network_.load(std::memory_order_acquire);
  if (map != nullptr) {
    p.locality = {map, map->Lookup(from),
                  locality_share_q16_.load(std::memory_order_relaxed)};
    if (p.locality.network == kOutsideMap) stats->outside_map.Add();
  }
  const size_t hdr = protocol::kAnnounceResponseHeaderSize;
  const AnnounceResult res =
      la ? table_->Announce(p, reply.subspan(hdr), *la)
         : table_->Announce(p, reply.subspan(hdr));
  if (res.status != AnnounceStatus::kOk) {
    *outcome = Outcome::kError;
    return protocol::WriteErrorResponse(
        reply, a.transaction_id,
        res.status == AnnounceStatus::kRateLimited
            ? "too many new torrents from your address"
            : "tracker is full");
  }
  if (p.locality.active()) {
    stats->peers_local.Add(res.locality.local);
    stats->peers_remote.Add(res.locality.ranked - res.locality.local);
  }
  protocol::WriteAnnounceResponseHeader(reply, a.transaction_id,
                                        interval_s_.load(std::memory_order_relaxed),
                                        res.counts.leechers,
                                        res.counts.seeders);
  return hdr + res.peers_written * protocol::PeerEntrySize(from.family);
}

AnnounceParams Tracker::ParamsOf(const protocol::AnnounceRequest& a,
                                 const PeerEndpoint& from, uint32_t now,
                                 uint64_t random) const {
  // BEP 15's IP field is ignored: a peer is always its source address, so
  // nobody can announce someone else.
  AnnounceParams p;
  p.info_hash = a.info_hash;
  p.peer = from;
  p.peer.port = a.port;
  p.event = a.event;
  p.seeder = a.left == 0;
  const uint32_t cap = from.family == AddressFamily::kV4
                           ? max_numwant_v4_.load(std::memory_order_relaxed)
                           : max_numwant_v6_.load(std::memory_order_relaxed);
  const uint32_t want =
      a.num_want < 0 ? default_numwant_.load(std::memory_order_relaxed)
                     : static_cast<uint32_t>(a.num_want);
  p.numwant = std::min(want, cap);
  p.now = now;
  p.random = random;
  return p;
}

size_t Tracker::HandleScrape(const protocol::ScrapeRequest& s,
                             std::span<uint8_t> reply, TrackerStats* stats,
                             Outcome* outcome) {
  if (const AccessList* l = access_.load(std::memory_order_acquire)) {
    for (size_t i = 0; i < s.hash_count; ++i) {
      if (!l->Allows(s.hash(i))) {
        stats->not_allowed.Add();
        *outcome = Outcome::kError;
        return protocol::WriteErrorResponse(reply, s.transaction_id,
                                            "torrent not allowed");
      }
    }
  }
  size_t n = protocol::WriteScrapeResponseHeader(reply, s.transaction_id);
  for (size_t i = 0; i < s.hash_count; ++i) {
    const SwarmCounts c = table_->Scrape(s.hash(i));
    n += protocol::WriteScrapeEntry(reply.subspan(n), c.seeders, c.completed,
                                    c.leechers);
  }
  return n;
}

std::unique_ptr<const NetworkMap> Tracker::SetNetworkMap(
    std::unique_ptr<const NetworkMap> map) {
  // Release: a request that loads the new pointer sees the whole map.
  network_.store(map.get(), std::memory_order_release);
  std::swap(network_owned_, map);
  return map;
}

std::unique_ptr<const AccessList> Tracker::SetAccessList(
    std::unique_ptr<const AccessList> list) {
  // Release: a request that loads the pointer sees the whole list.
  access_.store(list.get(), std::memory_order_release);
  std::swap(access_owned_, list);
  return list;
}

}  // namespace ringtrack
