#include "core/swarm/state_format.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/hash.h"
#include "core/base/wire.h"

namespace ringtrack::state {
namespace {

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Returns p advanced by n, or nullptr when fewer than n bytes remain.
inline const uint8_t* Take(const uint8_t* p, const uint8_t* end, size_t n) {
  return static_cast<size_t>(end - p) < n ? nullptr : p + n;
}

}  // namespace

void Checksum::Block(const uint8_t* p) {
  for (int j = 0; j < 4; ++j) lane_[j] = Mix64(lane_[j] ^ LoadLe64(p + 8 * j));
}

void Checksum::Update(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  length_ += n;
  if (npending_ != 0) {
    const size_t k = std::min(n, pending_.size() - npending_);
    std::memcpy(pending_.data() + npending_, p, k);
    npending_ += k;
    p += k;
    n -= k;
    if (npending_ < pending_.size()) return;
    Block(pending_.data());
    npending_ = 0;
  }
  for (; n >= 32; p += 32, n -= 32) Block(p);
  std::memcpy(pending_.data(), p, n);
  npending_ = n;
}

uint64_t Checksum::Finish() const {
  std::array<uint64_t, 4> lanes = lane_;
  std::array<uint8_t, 32> tail{};
  std::memcpy(tail.data(), pending_.data(), npending_);
  for (int j = 0; j < 4; ++j) {
    lanes[j] = Mix64(lanes[j] ^ LoadLe64(tail.data() + 8 * j));
  }
  uint64_t h = Mix64(length_ ^ 0x5254535441544521ULL);
  for (uint64_t l : lanes) h = Mix64(h ^ l);
  return h;
}

void AppendHeader(uint64_t saved_at, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + kHeaderSize);
  uint8_t* p = out->data() + at;
  std::memcpy(p, kMagic.data(), kMagic.size());
  wire::StoreBe32(p + 8, kVersion);
  wire::StoreBe32(p + 12, 0);
  wire::StoreBe64(p + 16, saved_at);
}

void AppendSwarm(const SwarmRecord& r, std::vector<uint8_t>* out) {
  uint32_t n4 = 0;
  for (const PeerRecord& p : r.peers) n4 += p.peer.family == AddressFamily::kV4;
  const uint32_t n6 = static_cast<uint32_t>(r.peers.size()) - n4;
  const size_t at = out->size();
  out->resize(at + kSwarmHeaderSize + n4 * kPeerV4Size + n6 * kPeerV6Size);
  uint8_t* p = out->data() + at;
  std::memcpy(p, r.info_hash.bytes.data(), kInfoHashSize);
  wire::StoreBe32(p + 20, r.completed);
  wire::StoreBe32(p + 24, n4);
  wire::StoreBe32(p + 28, n6);
  uint8_t* v4 = p + kSwarmHeaderSize;
  uint8_t* v6 = v4 + n4 * kPeerV4Size;
  for (const PeerRecord& e : r.peers) {
    const bool is4 = e.peer.family == AddressFamily::kV4;
    uint8_t*& q = is4 ? v4 : v6;
    const size_t iplen = is4 ? 4 : 16;
    std::memcpy(q, e.peer.ip.data(), iplen);
    wire::StoreBe16(q + iplen, e.peer.port);
    q[iplen + 2] = static_cast<uint8_t>((e.seeder ? kFlagSeeder : 0) |
                                        (e.counted ? kFlagCounted : 0));
    wire::StoreBe32(q + iplen + 3, e.last_seen);
    q += iplen + 7;
  }
}

void AppendTrailer(uint64_t swarms, uint64_t peers, const Checksum& sum,
                   std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + kTrailerSize);
  uint8_t* p = out->data() + at;
  wire::StoreBe64(p, swarms);
  wire::StoreBe64(p + 8, peers);
  Checksum all = sum;
  all.Update(std::span<const uint8_t>(p, 16));
  wire::StoreBe64(p + 16, all.Finish());
}

absl::StatusOr<FileInfo> Verify(std::span<const uint8_t> file) {
  if (file.size() < kMagic.size() ||
      std::memcmp(file.data(), kMagic.data(), kMagic.size()) != 0) {
    return absl::InvalidArgumentError(
        "not a ringtrack state file (wrong magic bytes)");
  }
  if (file.size() < kHeaderSize + kTrailerSize) {
    return absl::DataLossError(absl::StrCat("truncated: ", file.size(),
                                            " bytes, shorter than header "
                                            "and trailer"));
  }
  FileInfo info;
  info.version = wire::LoadBe32(file.data() + 8);
  if (info.version != kVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("state file version ", info.version,
                     ", this ringtrackd reads version ", kVersion));
  }
  info.saved_at = wire::LoadBe64(file.data() + 16);
  const uint8_t* t = file.data() + file.size() - kTrailerSize;
  info.swarms = wire::LoadBe64(t);
  info.peers = wire::LoadBe64(t + 8);
  Checksum sum;
  sum.Update(file.first(file.size() - 8));
  if (sum.Finish() != wire::LoadBe64(t + 16)) {
    return absl::DataLossError(
        "checksum mismatch: the file is corrupt or truncated");
  }
  return info;
}

absl::Status ForEachRecord(std::span<const uint8_t> file,
                           absl::FunctionRef<void(const SwarmRecord&)> visit) {
  if (file.size() < kHeaderSize + kTrailerSize) {
    return absl::DataLossError("truncated");
  }
  const uint8_t* p = file.data() + kHeaderSize;
  const uint8_t* const end = file.data() + file.size() - kTrailerSize;
  const uint64_t want_swarms = wire::LoadBe64(end);
  const uint64_t want_peers = wire::LoadBe64(end + 8);
  uint64_t swarms = 0, peers = 0;
  SwarmRecord r;
  while (p != end) {
    const uint8_t* body = Take(p, end, kSwarmHeaderSize);
    if (body == nullptr) return absl::DataLossError("swarm record overruns");
    r.info_hash = InfoHash::FromBytes(p);
    r.completed = wire::LoadBe32(p + 20);
    const uint64_t n4 = wire::LoadBe32(p + 24);
    const uint64_t n6 = wire::LoadBe32(p + 28);
    const uint8_t* next = Take(body, end, n4 * kPeerV4Size + n6 * kPeerV6Size);
    if (next == nullptr) return absl::DataLossError("peer list overruns");
    r.peers.clear();
    r.peers.reserve(n4 + n6);
    const uint8_t* q = body;
    for (uint64_t i = 0; i < n4 + n6; ++i) {
      const bool is4 = i < n4;
      const size_t iplen = is4 ? 4 : 16;
      PeerRecord e;
      e.peer.family = is4 ? AddressFamily::kV4 : AddressFamily::kV6;
      std::memcpy(e.peer.ip.data(), q, iplen);
      e.peer.port = wire::LoadBe16(q + iplen);
      e.seeder = (q[iplen + 2] & kFlagSeeder) != 0;
      e.counted = (q[iplen + 2] & kFlagCounted) != 0;
      e.last_seen = wire::LoadBe32(q + iplen + 3);
      q += iplen + 7;
      if (e.peer.port != 0) r.peers.push_back(e);  // port 0 is never stored
    }
    visit(r);
    ++swarms;
    peers += n4 + n6;
    p = next;
  }
  if (swarms != want_swarms || peers != want_peers) {
    return absl::DataLossError(absl::StrCat(
        "trailer counts ", want_swarms, " swarms and ", want_peers,
        " peers, records hold ", swarms, " and ", peers));
  }
  return absl::OkStatus();
}

}  // namespace ringtrack::state
