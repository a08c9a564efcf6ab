// The baseline the lock-free SwarmTable is measured against: the obvious
// design, a hash map of swarms split into mutex-guarded shards, each swarm a
// hash map of peers. Same announce semantics (find-or-insert swarm,
// insert/update/remove peer, pick up to numwant peers other than the
// requester), so the benchmark compares the data structures, not features.
#ifndef RINGTRACK_BENCH_CORE_MUTEX_SWARM_TABLE_H_
#define RINGTRACK_BENCH_CORE_MUTEX_SWARM_TABLE_H_

#include <array>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "core/swarm/swarm_table.h"
#include "core/base/wire.h"

namespace ringtrack::bench {

class MutexSwarmTable {
 public:
  AnnounceResult Announce(const AnnounceParams& p, std::span<uint8_t> out) {
    Shard& shard = shards_[p.info_hash.bytes[0] % kShards];
    std::lock_guard<std::mutex> lock(shard.mu);
    Swarm& s = shard.swarms[Key(p.info_hash)];
    uint32_t ip;
    std::memcpy(&ip, p.peer.ip.data(), 4);
    const uint64_t me = (uint64_t{ip} << 16) | p.peer.port;
    AnnounceResult r;
    auto it = s.index.find(me);
    if (p.event == Event::kStopped) {
      if (it != s.index.end()) {
        const uint32_t at = it->second;
        s.seeders -= s.peers[at].seeder;
        s.index.erase(it);
        s.peers[at] = s.peers.back();  // swap-remove keeps the vector dense
        s.peers.pop_back();
        if (at < s.peers.size()) s.index[s.peers[at].key] = at;
      }
    } else {
      if (it == s.index.end()) {
        s.index.emplace(me, static_cast<uint32_t>(s.peers.size()));
        s.peers.push_back({me, p.seeder});
        s.seeders += p.seeder;
      } else if (s.peers[it->second].seeder != p.seeder) {
        s.seeders += p.seeder ? 1 : -1;
        if (p.seeder) ++s.completed;
        s.peers[it->second].seeder = p.seeder;
      }
      // A random window of the dense peer vector.
      const uint32_t want = std::min<uint32_t>(p.numwant, out.size() / 6);
      const size_t n = s.peers.size();
      for (size_t k = 0, i = p.random % n; k < n && r.peers_written < want;
           ++k, i = i + 1 == n ? 0 : i + 1) {
        const Peer& peer = s.peers[i];
        if (peer.key == me || (p.seeder && peer.seeder)) continue;
        uint8_t* e = out.data() + 6 * r.peers_written++;
        const uint32_t pip = static_cast<uint32_t>(peer.key >> 16);
        std::memcpy(e, &pip, 4);
        wire::StoreBe16(e + 4, static_cast<uint16_t>(peer.key));
      }
    }
    r.counts = {s.seeders, static_cast<uint32_t>(s.peers.size()) - s.seeders,
                s.completed};
    return r;
  }

 private:
  static constexpr size_t kShards = 64;
  using HashKey = std::array<uint8_t, 20>;
  static HashKey Key(const InfoHash& h) { return h.bytes; }
  struct Peer {
    uint64_t key;  // (ip, port)
    bool seeder;
  };
  struct Swarm {
    absl::flat_hash_map<uint64_t, uint32_t> index;  // key → position in peers
    std::vector<Peer> peers;
    uint32_t seeders = 0;
    uint32_t completed = 0;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    absl::flat_hash_map<HashKey, Swarm> swarms;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace ringtrack::bench

#endif  // RINGTRACK_BENCH_CORE_MUTEX_SWARM_TABLE_H_
