// The codec and connection IDs: parse and serialize costs per datagram.
#include <vector>

#include "benchmark/benchmark.h"
#include "core/udp/connection_id.h"
#include "core/udp/protocol.h"

namespace ringtrack::bench {
namespace {

void BM_ParseAnnounce(benchmark::State& state) {
  protocol::AnnounceRequest a;
  a.connection_id = 1;
  a.port = 6881;
  a.info_hash.bytes.fill(7);
  std::vector<uint8_t> d(protocol::kAnnounceRequestSize);
  protocol::WriteAnnounceRequest(d, a);
  protocol::Request r;
  for (auto _ : state) {
    benchmark::DoNotOptimize(protocol::ParseRequest(d, &r));
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAnnounce);

void BM_ParseScrape74(benchmark::State& state) {
  std::vector<uint8_t> hashes(74 * 20, 3);
  std::vector<uint8_t> d(16 + hashes.size());
  protocol::WriteScrapeRequest(d, 1, 2, hashes);
  protocol::Request r;
  for (auto _ : state) {
    benchmark::DoNotOptimize(protocol::ParseRequest(d, &r));
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseScrape74);

void BM_WriteAnnounceReply50(benchmark::State& state) {
  uint8_t out[1280];
  const PeerEndpoint p = PeerEndpoint::V4(0x7f000001, 6881);
  for (auto _ : state) {
    size_t n = protocol::WriteAnnounceResponseHeader(out, 1, 1800, 10, 20);
    for (int i = 0; i < 50; ++i) {
      n += protocol::WritePeerEntry({out + n, sizeof(out) - n}, p);
    }
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WriteAnnounceReply50);

void BM_ConnectionIdMake(benchmark::State& state) {
  ConnectionIds ids(MasterKey{1, 2}, 1'800'000'000);
  PeerEndpoint p = PeerEndpoint::V4(0x7f000001, 1);
  uint32_t n = 0;
  for (auto _ : state) {
    p.ip[3] = static_cast<uint8_t>(++n);
    benchmark::DoNotOptimize(ids.Make(p, 1'800'000'000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConnectionIdMake);

void BM_ConnectionIdVerify(benchmark::State& state) {
  ConnectionIds ids(MasterKey{1, 2}, 1'800'000'000);
  const PeerEndpoint p = PeerEndpoint::V4(0x7f000001, 1);
  const uint64_t id = ids.Make(p, 1'800'000'000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ids.Verify(id, p, 1'800'000'010));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConnectionIdVerify);

}  // namespace
}  // namespace ringtrack::bench
