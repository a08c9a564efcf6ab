#include "core/tracker/tracker.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace ringtrack {

namespace {

uint32_t ClampPeers(uint32_t n) { return std::min(n, kMaxPeersOut); }

// TrackerConfig::locality_share as Locality::share_q16.
uint32_t ShareQ16(double share) {
  return static_cast<uint32_t>(std::clamp(share, 0.0, 1.0) * 65536.0 + 0.5);
}

}  // namespace

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kUdp:
      return "udp";
    case Protocol::kHttp:
      return "http";
    case Protocol::kCount:
      break;
  }
  return "?";
}

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

std::string_view RefusalMessage(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "";
    case Refusal::kNotAllowed:
      return "torrent not allowed";
    case Refusal::kInvalidPort:
      return "invalid port";
    case Refusal::kTrackerFull:
      return "tracker is full";
    case Refusal::kRateLimited:
      return "too many new torrents from your address";
    case Refusal::kCount:
      break;
  }
  return "refused";
}

std::string_view RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kNotAllowed:
      return "not_allowed";
    case Refusal::kInvalidPort:
      return "invalid_port";
    case Refusal::kTrackerFull:
      return "tracker_full";
    case Refusal::kRateLimited:
      return "rate_limited";
    case Refusal::kCount:
      break;
  }
  return "?";
}

uint64_t TrackerStats::refused_total() const {
  uint64_t n = 0;
  for (const Counter& c : refused) n += c.value();
  return n;
}

Tracker::Tracker(const TrackerConfig& config, SwarmTable* table)
    : interval_s_(config.interval_s),
      default_numwant_(ClampPeers(config.default_numwant)),
      max_numwant_v4_(ClampPeers(config.max_numwant_v4)),
      max_numwant_v6_(ClampPeers(config.max_numwant_v6)),
      table_(table),
      locality_share_q16_(ShareQ16(config.locality_share)) {
  table_->SetAnnounceInterval(config.interval_s);
}

void Tracker::SetConfig(const TrackerConfig& c) {
  // The table evicts at the budget only peers that missed this interval.
  table_->SetAnnounceInterval(c.interval_s);
  interval_s_.store(c.interval_s, std::memory_order_relaxed);
  default_numwant_.store(ClampPeers(c.default_numwant),
                         std::memory_order_relaxed);
  max_numwant_v4_.store(ClampPeers(c.max_numwant_v4),
                        std::memory_order_relaxed);
  max_numwant_v6_.store(ClampPeers(c.max_numwant_v6),
                        std::memory_order_relaxed);
  locality_share_q16_.store(ShareQ16(c.locality_share),
                            std::memory_order_relaxed);
}

Refusal Tracker::Check(const AnnounceRequest& r) const {
  if (const AccessList* l = access_.load(std::memory_order_acquire);
      l != nullptr && !l->Allows(r.info_hash)) {
    return Refusal::kNotAllowed;
  }
  if (r.peer.port == 0) return Refusal::kInvalidPort;
  return Refusal::kNone;
}

AnnounceParams Tracker::ParamsOf(const AnnounceRequest& r, uint32_t now,
                                 uint64_t random) const {
  AnnounceParams p;
  p.info_hash = r.info_hash;
  p.peer = r.peer;
  p.event = r.event;
  p.seeder = r.left == 0;
  const uint32_t cap = r.peer.family == AddressFamily::kV4
                           ? max_numwant_v4_.load(std::memory_order_relaxed)
                           : max_numwant_v6_.load(std::memory_order_relaxed);
  const uint32_t want =
      r.numwant < 0 ? default_numwant_.load(std::memory_order_relaxed)
                    : static_cast<uint32_t>(r.numwant);
  p.numwant = std::min(want, cap);
  p.now = now;
  p.random = random;
  return p;
}

AnnounceReply Tracker::Announce(const AnnounceRequest& r, uint32_t now,
                                uint64_t random, std::span<uint8_t> peers_out,
                                TrackerStats* stats) {
  if (const Refusal why = Check(r); why != Refusal::kNone) {
    stats->refused[static_cast<size_t>(why)].Add();
    return AnnounceReply{.refusal = why, .family = r.peer.family};
  }
  const AnnounceParams p = ShapedParamsOf(r, now, random, stats);
  return Finish(r, p, table_->Announce(p, peers_out), stats);
}

AnnounceReply Tracker::Announce(const AnnounceRequest& r, uint32_t now,
                                uint64_t random, std::span<uint8_t> peers_out,
                                TrackerStats* stats,
                                const Lookahead& la) {
  if (const Refusal why = Check(r); why != Refusal::kNone) {
    stats->refused[static_cast<size_t>(why)].Add();
    return AnnounceReply{.refusal = why, .family = r.peer.family};
  }
  const AnnounceParams p = ShapedParamsOf(r, now, random, stats, &la);
  return Finish(r, p, table_->Announce(p, peers_out, la.table), stats);
}

AnnounceParams Tracker::ShapedParamsOf(const AnnounceRequest& r, uint32_t now,
                                       uint64_t random,
                                       TrackerStats* stats,
                                       const Lookahead* la) const {
  AnnounceParams p = ParamsOf(r, now, random);
  // A lookahead's map and network, when it looked up (the map it read is
  // still valid: see Lookahead); else the map now, looked up now.
  const bool ahead = la != nullptr && la->looked_up;
  const NetworkMap* map =
      ahead ? la->map : network_.load(std::memory_order_acquire);
  if (map != nullptr) {
    p.locality = LocalityOf(map, ahead ? la->network : map->Lookup(r.peer));
    if (p.locality.network == kOutsideMap) stats->outside_map.Add();
  }
  return p;
}

AnnounceReply Tracker::Finish(const AnnounceRequest& r,
                              const AnnounceParams& p,
                              const AnnounceResult& res,
                              TrackerStats* stats) const {
  AnnounceReply out;
  out.family = r.peer.family;
  switch (res.status) {
    case AnnounceStatus::kOk:
      break;
    case AnnounceStatus::kRateLimited:
      out.refusal = Refusal::kRateLimited;
      break;
    case AnnounceStatus::kTableFull:
    case AnnounceStatus::kNoMemory:
      out.refusal = Refusal::kTrackerFull;
      break;
  }
  if (out.refusal != Refusal::kNone) {
    stats->refused[static_cast<size_t>(out.refusal)].Add();
    return out;
  }
  stats->announces.Add();
  if (p.locality.active()) {
    stats->peers_local.Add(res.locality.local);
    stats->peers_remote.Add(res.locality.ranked - res.locality.local);
  }
  // Clients may re-announce no sooner than the interval: the table's
  // eviction age assumes peers announce once an interval, not more.
  out.interval = out.min_interval = interval_s_.load(std::memory_order_relaxed);
  out.complete = res.counts.seeders;
  out.incomplete = res.counts.leechers;
  out.peer_count = res.peers_written;
  return out;
}

Refusal Tracker::Scrape(std::span<const uint8_t> hashes,
                        std::span<SwarmCounts> out, TrackerStats* stats) {
  assert(hashes.size() % kInfoHashSize == 0);
  const size_t n = hashes.size() / kInfoHashSize;
  assert(out.size() >= n);
  if (const AccessList* l = access_.load(std::memory_order_acquire)) {
    for (size_t i = 0; i < n; ++i) {
      if (!l->Allows(InfoHash::FromBytes(&hashes[i * kInfoHashSize]))) {
        stats->refused[static_cast<size_t>(Refusal::kNotAllowed)].Add();
        return Refusal::kNotAllowed;
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = table_->Scrape(InfoHash::FromBytes(&hashes[i * kInfoHashSize]));
  }
  stats->scrapes.Add();
  stats->scraped_hashes.Add(n);
  return Refusal::kNone;
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
