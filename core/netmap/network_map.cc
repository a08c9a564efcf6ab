#include "core/netmap/network_map.h"

#include <algorithm>
#include <arpa/inet.h>  // inet_pton: text → bytes, no socket involved
#include <atomic>
#include <cassert>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringtrack {
namespace {

// This abseil's string_view is its own type, not std::string_view.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }
std::string_view S(absl::string_view s) { return {s.data(), s.size()}; }

using U128 = unsigned __int128;

uint32_t Load4(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}
U128 Load16(const uint8_t* p) {
  U128 v = 0;
  for (int i = 0; i < 16; ++i) v = v << 8 | p[i];
  return v;
}
// ::ffff:0:0/96, whose addresses are looked up as IPv4.
bool IsV4Mapped(const uint8_t* p) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(p, kPrefix, 12) == 0;
}
// The IPv4 address in `ip` (itself, or the last 4 bytes of a v4-mapped
// IPv6 address), or nullptr when it is an IPv6 address.
const uint8_t* V4Of(AddressFamily family, const uint8_t* ip) {
  if (family == AddressFamily::kV4) return ip;
  return IsV4Mapped(ip) ? ip + 12 : nullptr;
}

// Flattens nested-or-disjoint intervals [lo, hi] into sorted range starts
// (the first is 0) and each range's id: the innermost interval covering
// it, 0 where none does. REQUIRES: no two intervals overlap partly.
template <class K, class P>
void Flatten(std::vector<P> in, std::vector<K>* starts,
             std::vector<NetworkId>* ids) {
  // Outer before inner at one start; stable, so of two identical prefixes
  // the later one comes last and wins.
  std::stable_sort(in.begin(), in.end(), [](const P& a, const P& b) {
    return a.lo != b.lo ? a.lo < b.lo : a.hi > b.hi;
  });
  starts->assign(1, K{0});
  ids->assign(1, kOutsideMap);
  auto emit = [&](K at, NetworkId id) {
    if (starts->back() == at) {
      ids->back() = id;
      if (starts->size() > 1 && (*ids)[ids->size() - 2] == id) {
        starts->pop_back();
        ids->pop_back();
      }
    } else if (ids->back() != id) {
      starts->push_back(at);
      ids->push_back(id);
    }
  };
  std::vector<P> open;  // enclosing intervals, innermost last
  auto close_before = [&](K lo, bool all) {
    while (!open.empty() && (all || open.back().hi < lo)) {
      const K hi = open.back().hi;
      open.pop_back();
      if (hi != static_cast<K>(~K{0})) {
        emit(hi + 1, open.empty() ? kOutsideMap : open.back().id);
      }
    }
  };
  for (const P& p : in) {
    close_before(p.lo, false);
    emit(p.lo, p.id);
    open.push_back(p);
  }
  close_before(0, true);
}

// Parses "ADDRESS/LENGTH" into family, bytes and length.
bool ParseCidr(std::string_view text, AddressFamily* family, uint8_t ip[16],
               uint32_t* length) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string addr(text.substr(0, slash));
  if (!absl::SimpleAtoi(A(text.substr(slash + 1)), length)) return false;
  if (text.substr(slash + 1).empty() ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[slash + 1]))) {
    return false;
  }
  if (inet_pton(AF_INET, addr.c_str(), ip) == 1) {
    *family = AddressFamily::kV4;
    return *length <= 32;
  }
  if (inet_pton(AF_INET6, addr.c_str(), ip) == 1) {
    *family = AddressFamily::kV6;
    return *length <= 128;
  }
  return false;
}

// Whether any bit of ip past `length` is set.
bool HostBitsSet(const uint8_t* ip, size_t bytes, uint32_t length) {
  for (size_t i = 0; i < bytes; ++i) {
    const uint32_t keep = length >= 8 * (i + 1) ? 8
                          : length > 8 * i      ? length - 8 * i
                                                : 0;
    const uint8_t host = keep == 8 ? 0 : static_cast<uint8_t>(0xff >> keep);
    if (ip[i] & host) return true;
  }
  return false;
}

}  // namespace

NetworkId NetworkMap::Builder::Network(std::string_view name,
                                       std::string_view country) {
  auto [it, fresh] = by_name_.try_emplace(std::string(name), names_.size() + 1);
  if (fresh) {
    names_.emplace_back(name);
    countries_.push_back({0, 0});
  }
  std::array<char, 2>& cc = countries_[it->second - 1];
  if (cc[0] == 0 && country.size() == 2) {
    cc = {static_cast<char>(absl::ascii_toupper(country[0])),
          static_cast<char>(absl::ascii_toupper(country[1]))};
  }
  return it->second;
}

void NetworkMap::Builder::Add(AddressFamily family, std::span<const uint8_t> ip,
                              uint32_t length, NetworkId id) {
  assert(id <= names_.size());
  if (family == AddressFamily::kV4) {
    assert(length <= 32 && ip.size() >= 4);
    const uint32_t host = length == 0 ? ~0u : (length == 32 ? 0 : ~0u >> length);
    const uint32_t lo = Load4(ip.data()) & ~host;
    v4_.push_back({lo, lo | host, id});
    return;
  }
  assert(length <= 128 && ip.size() >= 16);
  const U128 all = ~U128{0};
  const U128 host = length == 0 ? all : (length == 128 ? 0 : all >> length);
  const U128 lo = Load16(ip.data()) & ~host;
  v6_.push_back({lo, lo | host, id});
}

std::unique_ptr<const NetworkMap> NetworkMap::Builder::Build() && {
  static std::atomic<uint32_t> generations{0};
  auto map = std::unique_ptr<NetworkMap>(new NetworkMap());
  map->generation_ = generations.fetch_add(1, std::memory_order_relaxed) + 1;
  std::vector<uint32_t> starts4;
  std::vector<NetworkId> ids4;
  Flatten(std::move(v4_), &starts4, &ids4);
  map->ranges4_.resize(starts4.size());
  for (size_t i = 0; i < starts4.size(); ++i) {
    map->ranges4_[i] = {starts4[i], ids4[i]};
  }
  Flatten(std::move(v6_), &map->starts6_, &map->ids6_);
  // Range indices must leave kWhole16 free (2^31 ranges would be 16 GiB).
  if (starts4.size() >= kWhole16) std::abort();
  map->index4_.resize(65536);
  size_t r = 0;  // the range holding k << 16
  for (uint32_t k = 0; k < 65536; ++k) {
    const uint32_t at = k << 16;
    while (r + 1 < starts4.size() && starts4[r + 1] <= at) ++r;
    // The last range starting at or before the /16's last address.
    size_t last = r;
    while (last + 1 < starts4.size() && starts4[last + 1] <= (at | 0xffffu)) {
      ++last;
    }
    map->index4_[k] = last == r ? Slice4{kWhole16, ids4[r]}
                                : Slice4{static_cast<uint32_t>(r),
                                         static_cast<uint32_t>(last)};
  }
  map->names_ = std::move(names_);
  map->countries_ = std::move(countries_);
  return map;
}

NetworkId NetworkMap::Lookup4(uint32_t ip) const {
  const Slice4 s = index4_[ip >> 16];
  if ((s.first & kWhole16) != 0) return s.last;
  // The range holding ip is one of ranges4_[s.first, s.last].
  const Range4* first = ranges4_.data() + s.first;
  const Range4* last = ranges4_.data() + s.last + 1;
  const Range4* it = std::upper_bound(
      first + 1, last, ip,
      [](uint32_t a, const Range4& r) { return a < r.start; });
  return it[-1].id;
}

void NetworkMap::Prefetch(const PeerEndpoint& p) const {
  if (const uint8_t* v4 = V4Of(p.family, p.ip.data())) {
    __builtin_prefetch(index4_.data() + (Load4(v4) >> 16));
  }
}

NetworkId NetworkMap::Lookup6(U128 ip) const {
  auto it = std::upper_bound(starts6_.begin(), starts6_.end(), ip);
  return ids6_[(it - starts6_.begin()) - 1];
}

NetworkId NetworkMap::Lookup(AddressFamily family, const uint8_t* ip) const {
  if (const uint8_t* v4 = V4Of(family, ip)) return Lookup4(Load4(v4));
  return Lookup6(Load16(ip));
}

std::string_view NetworkMap::country(NetworkId id) const {
  const std::array<char, 2>& cc = countries_[id - 1];
  return cc[0] == 0 ? std::string_view() : std::string_view(cc.data(), 2);
}

size_t NetworkMap::MemoryBytes() const {
  size_t names = 0;
  for (const std::string& n : names_) {
    names += sizeof(std::string) + (n.size() > 15 ? n.capacity() + 1 : 0);
  }
  return ranges4_.capacity() * sizeof(Range4) +
         index4_.capacity() * sizeof(Slice4) +
         starts6_.capacity() * sizeof(U128) +
         ids6_.capacity() * sizeof(NetworkId) + names +
         countries_.capacity() * sizeof(countries_[0]);
}

absl::StatusOr<std::unique_ptr<const NetworkMap>> NetworkMap::Parse(
    std::string_view text, std::string_view source) {
  const absl::string_view src = A(source);
  Builder b;
  // Each prefix's line, to name both lines of a duplicate.
  absl::flat_hash_map<std::tuple<uint64_t, uint64_t, uint32_t>, size_t> seen;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(A(text), '\n')) {
    ++line_no;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (f.empty()) continue;
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(src, ":", line_no, ": ", what,
                       " (expected `CIDR NAME [CC]`, e.g. "
                       "`10.1.0.0/16 site-a` or `fd00:1::/32 isp-b DE`)"));
    };
    if (f.size() < 2) return bad(absl::StrCat("no network name after '", f[0], "'"));
    if (f.size() > 3) return bad(absl::StrCat("unexpected '", f[3], "'"));
    AddressFamily family;
    uint8_t ip[16] = {};
    uint32_t length = 0;
    if (!ParseCidr(S(f[0]), &family, ip, &length)) {
      return bad(absl::StrCat("'", f[0],
                              "' is not ADDRESS/LENGTH (IPv4 /0-/32 or IPv6 "
                              "/0-/128)"));
    }
    const size_t bytes = family == AddressFamily::kV4 ? 4 : 16;
    if (HostBitsSet(ip, bytes, length)) {
      return bad(absl::StrCat("'", f[0], "' has bits set past /", length,
                              "; write the network's first address"));
    }
    if (f.size() == 3 &&
        (f[2].size() != 2 || !absl::ascii_isalpha(f[2][0]) ||
         !absl::ascii_isalpha(f[2][1]))) {
      return bad(absl::StrCat("country '", f[2],
                              "' is not a two-letter ISO 3166 code"));
    }
    // IPv4 prefixes are keyed apart from IPv6 ones by a length past 128.
    const U128 key = family == AddressFamily::kV4 ? Load4(ip) : Load16(ip);
    const uint32_t key_len = length + (family == AddressFamily::kV4 ? 256 : 0);
    auto [it, fresh] = seen.try_emplace(
        std::make_tuple(static_cast<uint64_t>(key >> 64),
                        static_cast<uint64_t>(key), key_len),
        line_no);
    if (!fresh) {
      return bad(absl::StrCat("'", f[0], "' is listed already on line ",
                              it->second, "; keep one"));
    }
    b.Add(family, std::span<const uint8_t>(ip, bytes), length,
          b.Network(S(f[1]), f.size() == 3 ? S(f[2]) : std::string_view()));
  }
  return std::move(b).Build();
}

absl::StatusOr<std::unique_ptr<const NetworkMap>> NetworkMap::Load(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open the network map"));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  return Parse(text.str(), path);
}

}  // namespace ringtrack
