// NetworkMap: which network an IP address belongs to, for locality-aware
// peer selection. A network is a named group of IP prefixes (an operator's
// site, an ISP, an autonomous system); the map gives each a dense id, 1 up,
// and 0 (kOutsideMap) to an address no prefix covers.
//
// The map is flattened when built: the prefixes (which nest or are
// disjoint, never partly overlap) become one sorted array of range starts
// per family, each range carrying the id of the longest prefix covering it,
// so a lookup is one binary search and never walks a trie. IPv4 lookups
// first index the range array by the address's top 16 bits (a 512 KiB
// table), so the search covers only the ranges inside one /16, and a /16
// that one range holds whole needs no search (its slot holds the id). An
// IPv6
// address in ::ffff:0:0/96 is looked up as the IPv4 address it carries.
//
// Two sources build a map: the text format below (Parse/Load here) and a
// libloc database grouped by AS number (core/netmap/libloc_reader.h, its
// own library because it links libloc).
//
// Text format: one `CIDR NAME [CC]` per line, e.g. `10.1.0.0/16 site-a` or
// `fd00:1::/32 isp-b DE`. Every line naming the same NAME adds a prefix to
// one network; CC is an optional ISO 3166 country code (two letters) for
// the network, the first one given counts. Blank lines and text after '#'
// are ignored. A bad line (an unparsable address or length, host bits set
// past the length, a prefix listed twice, a missing name, a bad country
// code) is an error naming SOURCE:LINE and the fix; nothing is loaded then.
//
// Thread safety: immutable once built; every const method may run on any
// number of threads.
#ifndef RINGTRACK_CORE_NETMAP_NETWORK_MAP_H_
#define RINGTRACK_CORE_NETMAP_NETWORK_MAP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/base/types.h"

namespace ringtrack {

using NetworkId = uint32_t;
inline constexpr NetworkId kOutsideMap = 0;

class NetworkMap {
 public:
  // Collects prefixes, then flattens them into a map.
  class Builder {
   public:
    // The id of network `name`, made on first use (ids are dense, 1 up).
    // `country` ("" or two letters) is kept from the first call naming it.
    NetworkId Network(std::string_view name, std::string_view country = "");
    // Adds prefix `ip`/`length` (ip in network order: 4 bytes for kV4, 16
    // for kV6) to network `id`; kOutsideMap makes a hole in an enclosing
    // prefix. Host bits past `length` are ignored.
    // REQUIRES: id from Network() or kOutsideMap; length <= 32 (kV4) or
    // 128 (kV6).
    void Add(AddressFamily family, std::span<const uint8_t> ip,
             uint32_t length, NetworkId id);
    size_t prefixes() const { return v4_.size() + v6_.size(); }
    // Flattens the prefixes. An identical prefix added twice keeps the
    // later network.
    std::unique_ptr<const NetworkMap> Build() &&;

   private:
    friend class NetworkMap;
    struct Prefix4 {
      uint32_t lo, hi;
      NetworkId id;
    };
    struct Prefix6 {
      unsigned __int128 lo, hi;
      NetworkId id;
    };
    std::vector<Prefix4> v4_;
    std::vector<Prefix6> v6_;
    std::vector<std::string> names_;              // [id - 1]
    std::vector<std::array<char, 2>> countries_;  // [id - 1]; {0, 0}: none
    absl::flat_hash_map<std::string, NetworkId> by_name_;
  };

  // Parses the text format; `source` names the text in errors (a path).
  static absl::StatusOr<std::unique_ptr<const NetworkMap>> Parse(
      std::string_view text, std::string_view source);
  // Reads and parses the text file at `path`.
  static absl::StatusOr<std::unique_ptr<const NetworkMap>> Load(
      const std::string& path);

  // The network of `ip` (network order; 4 bytes for kV4, 16 for kV6), or
  // kOutsideMap. Never allocates.
  NetworkId Lookup(AddressFamily family, const uint8_t* ip) const;
  NetworkId Lookup(const PeerEndpoint& p) const {
    return Lookup(p.family, p.ip.data());
  }
  // Starts fetching what Lookup(p) reads first (an IPv4 address's /16
  // slot, all it reads where one network holds the /16), so a caller that
  // pipelines a batch overlaps the misses.
  void Prefetch(const PeerEndpoint& p) const;

  // Networks in the map (ids run 1..networks()).
  size_t networks() const { return names_.size(); }
  // REQUIRES: 1 <= id <= networks().
  std::string_view name(NetworkId id) const { return names_[id - 1]; }
  // Two letters, or "" when the map does not know it.
  std::string_view country(NetworkId id) const;
  // Flattened ranges per family (a network's prefixes that touch make one).
  size_t ranges_v4() const { return ranges4_.size(); }
  size_t ranges_v6() const { return starts6_.size(); }
  // Bytes the map holds on the heap.
  size_t MemoryBytes() const;
  // A number no other map built by this process has (1 up, in build
  // order): what a peer set compares to know that its network tags came
  // from another map (a reload) and must be looked up again.
  uint32_t generation() const { return generation_; }

 private:
  NetworkMap() = default;
  NetworkId Lookup4(uint32_t ip) const;
  NetworkId Lookup6(unsigned __int128 ip) const;

  // Sorted IPv4 ranges (the first starts at 0), each with its network,
  // side by side so the search's last read fetches the id too.
  struct Range4 {
    uint32_t start;
    NetworkId id;
  };
  std::vector<Range4> ranges4_;
  // index4_[k], for the /16 k (its top 16 bits): the ranges that hold its
  // addresses, ranges4_[first, last]; or, when one range holds all of it
  // (first has kWhole16 set), that range's network in `last`, so a lookup
  // there reads this one slot (73 % of IPv4's /16s in Debian 12's libloc
  // map, most of the address space).
  struct Slice4 {
    uint32_t first;
    uint32_t last;
  };
  static constexpr uint32_t kWhole16 = 0x80000000u;
  std::vector<Slice4> index4_;
  // Sorted IPv6 range starts (the first is 0) and each range's network.
  std::vector<unsigned __int128> starts6_;
  std::vector<NetworkId> ids6_;
  std::vector<std::string> names_;
  std::vector<std::array<char, 2>> countries_;
  uint32_t generation_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_CORE_NETMAP_NETWORK_MAP_H_
