// Value types shared by the codec, the swarm table and the tracker service:
// info hashes and peer endpoints. Plain data, no behaviour beyond comparison.
#ifndef RINGTRACK_CORE_BASE_TYPES_H_
#define RINGTRACK_CORE_BASE_TYPES_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

namespace ringtrack {

inline constexpr size_t kInfoHashSize = 20;
inline constexpr size_t kPeerIdSize = 20;

// An announce's event. The values are BEP 15's wire numbers; the HTTP
// codec maps BEP 3's event names onto the same values.
enum class Event : uint32_t {
  kNone = 0,
  kCompleted = 1,
  kStarted = 2,
  kStopped = 3,
};

struct InfoHash {
  std::array<uint8_t, kInfoHashSize> bytes{};

  static InfoHash FromBytes(const uint8_t* p) {
    InfoHash h;
    std::memcpy(h.bytes.data(), p, kInfoHashSize);
    return h;
  }
  friend bool operator==(const InfoHash&, const InfoHash&) = default;
  // For absl's hash containers (absl::Hash is seeded per process).
  template <typename H>
  friend H AbslHashValue(H h, const InfoHash& x) {
    return H::combine_contiguous(std::move(h), x.bytes.data(), x.bytes.size());
  }
};

enum class AddressFamily : uint8_t { kV4 = 4, kV6 = 6 };

// A peer in compact form: its address and port in network byte order, 6
// bytes for IPv4 and 18 for IPv6. BEP 15 replies, BEP 23's `peers` and
// BEP 7's `peers6` strings and the swarm table's output all use it.
inline constexpr size_t kCompactPeerSizeV4 = 6;
inline constexpr size_t kCompactPeerSizeV6 = 18;
inline constexpr size_t CompactPeerSize(AddressFamily f) {
  return f == AddressFamily::kV4 ? kCompactPeerSizeV4 : kCompactPeerSizeV6;
}

// A peer's transport address. For kV4 only ip[0..3] is meaningful and the rest
// is zero, so two endpoints compare equal iff they are the same address.
struct PeerEndpoint {
  AddressFamily family = AddressFamily::kV4;
  std::array<uint8_t, 16> ip{};  // network byte order
  uint16_t port = 0;             // host byte order

  static PeerEndpoint V4(uint32_t ip_host_order, uint16_t port) {
    PeerEndpoint e;
    e.family = AddressFamily::kV4;
    e.ip[0] = static_cast<uint8_t>(ip_host_order >> 24);
    e.ip[1] = static_cast<uint8_t>(ip_host_order >> 16);
    e.ip[2] = static_cast<uint8_t>(ip_host_order >> 8);
    e.ip[3] = static_cast<uint8_t>(ip_host_order);
    e.port = port;
    return e;
  }
  static PeerEndpoint V6(const uint8_t ip16[16], uint16_t port) {
    PeerEndpoint e;
    e.family = AddressFamily::kV6;
    std::memcpy(e.ip.data(), ip16, 16);
    e.port = port;
    return e;
  }
  friend bool operator==(const PeerEndpoint&, const PeerEndpoint&) = default;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_BASE_TYPES_H_
