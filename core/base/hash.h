// Mix64: a fast 64-bit mixer (MurmurHash3's finalizer) for non-adversarial
// hashing: peer-set slots under a random seed, and deterministic workload
// generation in the tools. Adversarial keys (info hashes) use SipHash.
#ifndef RINGTRACK_CORE_BASE_HASH_H_
#define RINGTRACK_CORE_BASE_HASH_H_

#include <cstdint>

namespace ringtrack {

inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_BASE_HASH_H_
