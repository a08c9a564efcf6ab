// libFuzzer target: UdpTracker::Handle (the BEP 15 front end over the
// tracker core) over sequences of datagrams from four
// sources (two IPv4, two IPv6) into a small swarm table with a tight
// memory budget and per-source caps, time moving forward. Valid
// connection IDs are spliced into datagrams on request, so announces and
// scrapes reach the table. After every datagram: the table's invariants
// hold, no reply exceeds kMaxUdpReplySize, and nothing unauthenticated gets a
// reply larger than its request.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/udp/connection_id.h"
#include "core/base/memory_budget.h"
#include "core/swarm/source_limiter.h"
#include "core/swarm/swarm_table.h"
#include "core/udp/udp_tracker.h"
#include "core/base/wire.h"

using namespace ringtrack;

namespace {

PeerEndpoint Source(int i) {
  if (i < 2) return PeerEndpoint::V4(0xa9fe0001 + i, 40000 + i);
  uint8_t ip[16] = {0xfd, 0x52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ip[15] = static_cast<uint8_t>(i);
  return PeerEndpoint::V6(ip, 40000 + i);
}

void Fail(const std::string& why) {
  std::fprintf(stderr, "tracker_fuzzer: %s\n", why.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  uint32_t now = 1'800'000'000;
  MemoryBudget budget(4096 + 2048);
  SourceLimiter limiter({.rate_per_s = 1, .burst = 4, .buckets = 64});
  SwarmTableConfig tc;
  tc.initial_slots = 16;
  tc.seed0 = 1;
  tc.seed1 = 2;
  tc.peer_timeout_s = 60;
  tc.max_peers_per_source = 3;
  tc.max_peers_per_swarm = 6;
  tc.budget = &budget;
  tc.limiter = &limiter;
  SwarmTable table(tc);
  ConnectionIds ids(MasterKey{7, 8}, now);
  TrackerConfig cfg;
  cfg.max_numwant_v4 = 200;
  Tracker core(cfg, &table);
  UdpTracker tracker(&core, &ids);
  UdpStats stats;
  uint8_t reply[kMaxUdpReplySize + 64];
  while (in.remaining_bytes() > 0) {
    const PeerEndpoint from = Source(in.ConsumeIntegralInRange<int>(0, 3));
    now += in.ConsumeIntegralInRange<uint32_t>(0, 40);
    ids.Refresh(now);
    const uint8_t splice = in.ConsumeIntegral<uint8_t>();
    std::vector<uint8_t> d =
        in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 1600));
    if ((splice & 1) && d.size() >= 8) {
      // A valid ID for this source, issued up to ~2 minutes ago.
      wire::StoreBe64(d.data(), ids.Make(from, now - (splice >> 1)));
    }
    if ((splice & 2) && d.size() >= 12) d[8] = d[9] = d[10] = 0;
    const UdpResult r =
        tracker.Handle(d, from, now, splice * 0x9e3779b97f4a7c15ULL,
                       {reply, kMaxUdpReplySize}, &stats);
    if (r.reply_size > kMaxUdpReplySize) Fail("reply larger than kMaxUdpReplySize");
    const bool proven =
        d.size() >= 16 && ids.Verify(wire::LoadBe64(d.data()), from, now);
    if (!proven && r.reply_size > d.size()) {
      Fail("an unproven sender got a reply larger than its request");
    }
    std::string why;
    if (!table.CheckInvariants(&why)) Fail(why);
    if (in.ConsumeBool()) table.Sweep(now, 8);
  }
  return 0;
}
