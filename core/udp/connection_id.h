// Stateless BEP 15 connection IDs.
//
// An ID is (32-bit issue time ‖ 32-bit SipHash-2-4 tag over (source IP ‖ issue
// time)); see core/base/siphash.h for the layout and why 32 bits of tag suffice.
// Nothing is stored per client: Verify() recomputes the tag. An ID is valid
// for RT_CONN_ID_LIFETIME_S seconds after issue, from the address it was
// issued to only; one dated more than RT_CONN_ID_MAX_FUTURE_S ahead is
// refused. Tags are compared in constant time.
//
// Keys: a 128-bit master key (random at start, or from a key file so IDs
// survive a restart and several instances can share them) derives one key per
// RT_KEY_EPOCH_S epoch. An ID verifies with the key of its issue time's epoch,
// so after a rotation the previous key stays valid for the whole lifetime
// window, and instances sharing a master rotate in step without talking.
//
// Thread safety: Make() and Verify() may run on any number of threads
// concurrently with one thread calling Refresh(). Each key slot is a small
// seqlock: Refresh() invalidates the slot's epoch, writes the key, then
// publishes the epoch with release order; readers load the epoch with acquire
// order, read the key, and re-check the epoch, so a torn key is never used.
// Refresh() only rewrites the slot of epoch e+1 while readers use e-1 and e.
#ifndef RINGTRACK_CORE_UDP_CONNECTION_ID_H_
#define RINGTRACK_CORE_UDP_CONNECTION_ID_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/siphash.h"
#include "core/base/types.h"

namespace ringtrack {

struct MasterKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// A fresh master key from the system's random source (getrandom).
MasterKey RandomMasterKey();
// Reads a key file: 32 hexadecimal characters (128 bits), surrounding
// whitespace ignored. Refuses (kFailedPrecondition, naming the reason)
// anything that is not a regular file (symbolic links included), a file
// owned by another user, and a file readable or writable by group or
// others. If the file does not exist and `create` is true, a random key is
// written to a temporary file, fsynced and linked into place, so the file
// is complete or absent even after a crash, and instances racing the first
// start all end up with the key that was linked first.
absl::StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path,
                                            bool create);

// The 16-byte form of `e` hashed into a connection ID (IPv4 is v4-mapped).
std::array<uint8_t, 16> ConnectionIdAddress(const PeerEndpoint& e);

class ConnectionIds {
 public:
  // Keys for the epochs around `now` (Unix seconds) are ready on return.
  ConnectionIds(MasterKey master, uint32_t now);
  ConnectionIds(const ConnectionIds&) = delete;
  ConnectionIds& operator=(const ConnectionIds&) = delete;

  // Prepares keys for epochs e-1, e, e+1 of `now`. Call at least once per
  // epoch (the daemon calls it every second).
  // REQUIRES: only one thread calls Refresh() at a time.
  void Refresh(uint32_t now);

  // Returns the ID for a client at `from`, issued at `now`.
  uint64_t Make(const PeerEndpoint& from, uint32_t now) const;

  // Returns true iff `id` was issued by this master key to `from` no more
  // than RT_CONN_ID_LIFETIME_S before `now` and no more than
  // RT_CONN_ID_MAX_FUTURE_S after it.
  bool Verify(uint64_t id, const PeerEndpoint& from, uint32_t now) const;

  // The key of one epoch, derived from the master (for the XDP key map).
  rt_conn_key KeyForEpoch(uint64_t epoch) const;

 private:
  struct Slot {
    std::atomic<uint64_t> epoch{~0ULL};
    std::atomic<uint64_t> k0{0};
    std::atomic<uint64_t> k1{0};
  };
  // Returns false iff the slot does not hold `epoch` (not prepared yet).
  bool LoadKey(uint64_t epoch, rt_conn_key* out) const;
  void StoreKey(uint64_t epoch);

  const MasterKey master_;  // immutable after construction
  std::array<Slot, RT_KEY_SLOTS> slots_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_UDP_CONNECTION_ID_H_
