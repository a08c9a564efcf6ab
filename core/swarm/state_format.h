// The state file's format: a snapshot of the swarm table (info hashes,
// peers with their last-seen times and roles, `completed` counts) that
// ringtrackd writes periodically and at shutdown and reads back at start,
// so a restart loses neither swarms nor download counts. Pure encoding and
// decoding over caller buffers; the file handling (temp file, fsync,
// rename, mapping) is daemon/state_file.h.
//
// Layout, every integer big-endian (core/base/wire.h):
//   header, 24 bytes:  magic "RTSTATE\n" | version u32 | reserved u32 (0)
//                      | saved_at u64 (Unix seconds)
//   swarm record:      info hash (20) | completed u32 | n_v4 u32 | n_v6 u32
//                      then n_v4 × IPv4 peer, then n_v6 × IPv6 peer
//   IPv4 peer, 11 B:   address (4) | port u16 | flags u8 | last_seen u32
//   IPv6 peer, 23 B:   address (16) | port u16 | flags u8 | last_seen u32
//                      flags: 1 = seeder, 2 = counted in `completed`
//   trailer, 24 bytes: swarms u64 | peers u64 | checksum u64
// The checksum covers every byte before it (Checksum below). A reader
// checks magic, version, length and checksum before it trusts any record,
// and never reads past the end even if a record lies about its counts.
// The checksum catches corruption (a flipped byte, a torn write), not
// tampering: the file is as trusted as the directory it lives in.
#ifndef RINGTRACK_CORE_SWARM_STATE_FORMAT_H_
#define RINGTRACK_CORE_SWARM_STATE_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/swarm/swarm_table.h"

namespace ringtrack::state {

inline constexpr std::array<uint8_t, 8> kMagic = {'R', 'T', 'S', 'T',
                                                  'A', 'T', 'E', '\n'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 24;
inline constexpr size_t kTrailerSize = 24;
inline constexpr size_t kSwarmHeaderSize = 32;
inline constexpr size_t kPeerV4Size = 11;
inline constexpr size_t kPeerV6Size = 23;
inline constexpr uint8_t kFlagSeeder = 1;
inline constexpr uint8_t kFlagCounted = 2;

// A 64-bit checksum of a byte stream fed in pieces of any size: four
// lanes, each a chain h = Mix64(h ^ word) over every fourth 8-byte word
// (Mix64 is a bijection, so a change to any one word always changes the
// result), then the lanes and the length chained together. ~4× the speed
// of one chain; no tables, no dependency.
class Checksum {
 public:
  void Update(std::span<const uint8_t> bytes);
  uint64_t Finish() const;

 private:
  void Block(const uint8_t* p);
  std::array<uint64_t, 4> lane_ = {1, 2, 3, 4};
  std::array<uint8_t, 32> pending_{};
  size_t npending_ = 0;
  uint64_t length_ = 0;
};

// Appends the header, one swarm record, or the trailer to *out. `sum` is
// the checksum of every byte written before the trailer; AppendTrailer
// adds the trailer's counts to a copy of it.
void AppendHeader(uint64_t saved_at, std::vector<uint8_t>* out);
void AppendSwarm(const SwarmRecord& r, std::vector<uint8_t>* out);
void AppendTrailer(uint64_t swarms, uint64_t peers, const Checksum& sum,
                   std::vector<uint8_t>* out);

struct FileInfo {
  uint32_t version = 0;
  uint64_t saved_at = 0;
  uint64_t swarms = 0;
  uint64_t peers = 0;
};

// Checks a whole file: magic (kInvalidArgument "not a ringtrack state
// file"), version (kFailedPrecondition), length (kDataLoss "truncated")
// and checksum (kDataLoss). The message says which.
absl::StatusOr<FileInfo> Verify(std::span<const uint8_t> file);

// Calls visit(record) for each swarm record of a file Verify() accepted.
// A record that overruns the file or counts that disagree with the trailer
// give kDataLoss (after the records before it were visited).
absl::Status ForEachRecord(std::span<const uint8_t> file,
                           absl::FunctionRef<void(const SwarmRecord&)> visit);

}  // namespace ringtrack::state

#endif  // RINGTRACK_CORE_SWARM_STATE_FORMAT_H_
