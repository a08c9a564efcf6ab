#include "bpf/xdp_native.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "bpf/xdp_native_shim.h"

namespace ringtrack {

// A map as plain C++ structures. Values are 8-byte aligned (the rate
// limiter compare-and-swaps a u64 in place) and never move while the entry
// exists, as the kernel's.
struct XdpNative::Map {
  rt_native_map_def def;
  size_t words = 0;               // a value's size in u64 words
  std::vector<uint64_t> array;    // array types: max_entries values
  absl::flat_hash_map<std::string, std::unique_ptr<uint64_t[]>> hash;
  Map* inner = nullptr;           // ARRAY_OF_MAPS: the map in slot 0

  // Arrays start zeroed, as the kernel's.
  explicit Map(const rt_native_map_def& d)
      : def(d), words((d.value_size + 7) / 8) {
    if (IsArray()) array.assign(size_t{d.max_entries} * words, 0);
  }
  bool IsArray() const {
    return def.type == BPF_MAP_TYPE_ARRAY || def.type == BPF_MAP_TYPE_PERCPU_ARRAY;
  }
  bool IsHash() const {
    return def.type == BPF_MAP_TYPE_HASH || def.type == BPF_MAP_TYPE_LRU_HASH;
  }
  // A key as the hash map looks it up (no copy: lookups allocate nothing).
  absl::string_view KeyOf(const void* key) const {
    return absl::string_view(static_cast<const char*>(key), def.key_size);
  }
};

namespace {

XdpNative* g_native = nullptr;  // the one instance (the program's globals)

}  // namespace

XdpNative::XdpNative(const XdpOptions& options)
    : access_capacity_(options.access_capacity) {
  assert(g_native == nullptr);
  g_native = this;
  for (int i = 0; i < rt_native_map_count; ++i) {
    maps_.push_back(std::make_unique<Map>(rt_native_maps[i]));
    Map* m = maps_.back().get();
    const std::string_view name = m->def.name;
    if (name == "rt_dests") dests_ = m;
    if (name == "rt_ifmacs") ifmacs_ = m;
    if (name == "rt_keys") keys_ = m;
    if (name == "rt_counters") counters_ = m;
    if (name == "rt_rate") rate_ = m;
    if (name == "rt_access") access_ = m;
  }
  assert(dests_ && ifmacs_ && keys_ && counters_ && rate_ && access_);
  SetReadOnlyConfig(options.connect_in_kernel, options.xsk_redirect);
  SetRateLimit(options.rate_limit_pps, options.rate_burst);
  SetClockForTest(0);
}

XdpNative::~XdpNative() { g_native = nullptr; }

XdpNative::Map* XdpNative::MapOf(void* map) const {
  for (const auto& m : maps_) {
    if (m->def.map == map) return m.get();
  }
  if (acl_ != nullptr && map == acl_.get()) return acl_.get();
  return nullptr;
}

void* XdpNative::Lookup(void* map, const void* key) {
  Map* m = MapOf(map);
  if (m == nullptr) return nullptr;
  if (m->IsArray()) {
    uint32_t i;
    std::memcpy(&i, key, sizeof(i));
    return i < m->def.max_entries ? &m->array[size_t{i} * m->words] : nullptr;
  }
  if (m->IsHash()) {
    auto it = m->hash.find(m->KeyOf(key));
    return it == m->hash.end() ? nullptr : it->second.get();
  }
  if (m->def.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
    uint32_t i;
    std::memcpy(&i, key, sizeof(i));
    return i == 0 ? m->inner : nullptr;
  }
  return nullptr;  // XSKMAP: no sockets
}

long XdpNative::Update(void* map, const void* key, const void* value,
                       uint64_t flags) {
  Map* m = MapOf(map);
  return m == nullptr ? -EINVAL : Put(m, key, value, flags);
}

long XdpNative::Put(Map* m, const void* key, const void* value, uint64_t flags) {
  if (m->IsArray()) {
    uint32_t i;
    std::memcpy(&i, key, sizeof(i));
    if (i >= m->def.max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    std::memcpy(&m->array[size_t{i} * m->words], value, m->def.value_size);
    return 0;
  }
  if (!m->IsHash()) return -EINVAL;
  const absl::string_view k = m->KeyOf(key);
  auto it = m->hash.find(k);
  if (it != m->hash.end() && flags == BPF_NOEXIST) return -EEXIST;
  if (it == m->hash.end() && flags == BPF_EXIST) return -ENOENT;
  if (it == m->hash.end()) {
    if (m->hash.size() >= m->def.max_entries) {
      if (m->def.type != BPF_MAP_TYPE_LRU_HASH) return -E2BIG;
      m->hash.erase(m->hash.begin());
    }
    it = m->hash.emplace(std::string(k), std::make_unique<uint64_t[]>(m->words))
             .first;
  }
  std::memcpy(it->second.get(), value, m->def.value_size);
  return 0;
}

long XdpNative::Fib(bpf_fib_lookup* params, uint32_t flags) const {
  if (!fib_) return BPF_FIB_LKUP_RET_NOT_FWDED;
  return fib_(params, flags);
}

void XdpNative::SetDestinations(const std::vector<XdpDest>& dests) {
  dests_->hash.clear();
  const uint8_t one = 1;
  for (const XdpDest& d : dests) {
    rt_dest_key k{};
    std::memcpy(k.addr, d.addr.data(), 16);
    k.port_be = htons(d.port);
    Put(dests_, &k, &one, BPF_ANY);
  }
}

void XdpNative::SetInterfaceMac(int ifindex, const std::array<uint8_t, 6>& mac) {
  const uint32_t key = static_cast<uint32_t>(ifindex);
  rt_ifmac value{};
  std::memcpy(value.mac, mac.data(), 6);
  Put(ifmacs_, &key, &value, BPF_ANY);
}

void XdpNative::UpdateKeys(const ConnectionIds& ids, uint32_t now) {
  const uint64_t e = now / RT_KEY_EPOCH_S;
  for (uint64_t epoch = e - 1; epoch <= e + 1; ++epoch) {
    const rt_conn_key key = ids.KeyForEpoch(epoch);
    const uint32_t slot = static_cast<uint32_t>(epoch % RT_KEY_SLOTS);
    Put(keys_, &slot, &key, BPF_ANY);
  }
}

void XdpNative::SetClockForTest(uint32_t unix_seconds) {
  rt_native_set_clock_offset_ns(int64_t{unix_seconds} * 1'000'000'000LL -
                                static_cast<int64_t>(ktime_ns_));
}

void XdpNative::SetRateLimit(uint32_t pps, uint32_t burst) {
  rt_native_set_rate_config((uint64_t{burst} << 32) | pps);
}

bool XdpNative::SetAccessList(const AccessList* list) {
  if (list != nullptr && list == acl_list_ && access_->inner != nullptr) {
    return true;  // in force already (lists are immutable)
  }
  acl_list_ = nullptr;
  access_->inner = nullptr;
  acl_.reset();
  if (list == nullptr || access_capacity_ == 0 ||
      list->size() + 1 > access_capacity_) {
    return list == nullptr;
  }
  rt_native_map_def def = rt_native_access_inner;
  def.max_entries = access_capacity_;
  acl_ = std::make_unique<Map>(def);
  def.map = acl_.get();
  acl_->def.map = acl_.get();
  // The mode entry (the all-zero hash), as the loader writes it.
  rt_info_hash zero{};
  const uint8_t mode =
      static_cast<uint8_t>((list->mode() == AccessList::Mode::kAllow
                                ? RT_ACCESS_MODE_ALLOW
                                : RT_ACCESS_MODE_DENY) |
                           (list->hashes().contains(InfoHash{}) ? RT_ACCESS_LISTED : 0));
  Put(acl_.get(), &zero, &mode, BPF_ANY);
  const uint8_t listed = RT_ACCESS_LISTED;
  for (const InfoHash& h : list->hashes()) {
    if (h == InfoHash{}) continue;
    rt_info_hash k;
    std::memcpy(k.bytes, h.bytes.data(), sizeof(k.bytes));
    Put(acl_.get(), &k, &listed, BPF_ANY);
  }
  access_->inner = acl_.get();
  acl_list_ = list;
  return true;
}

std::array<uint64_t, RT_XDP_COUNTER_MAX> XdpNative::Counters() const {
  std::array<uint64_t, RT_XDP_COUNTER_MAX> sums{};
  for (uint32_t i = 0; i < RT_XDP_COUNTER_MAX && i < counters_->def.max_entries;
       ++i) {
    sums[i] = counters_->array[size_t{i} * counters_->words];
  }
  return sums;
}

void XdpNative::SetReadOnlyConfig(bool connect_in_kernel, bool xsk_redirect) {
  rt_native_set_rodata(connect_in_kernel ? 1 : 0, xsk_redirect ? 1 : 0);
}

void XdpNative::ClearRateLimiter() { rate_->hash.clear(); }

int XdpNative::Run(std::span<const uint8_t> frame, std::vector<uint8_t>* out,
                   int ifindex, uint32_t rx_queue) {
  // The frame ends where the allocation does: ASan catches any read past
  // data_end. It starts 2 bytes into it (drivers' NET_IP_ALIGN), so the IP
  // header, after 14 or 18 bytes, is 4-byte aligned as its struct wants.
  constexpr size_t kIpAlign = 2;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kIpAlign + frame.size()]);
  uint8_t* data = buf.get() + kIpAlign;
  if (!frame.empty()) std::memcpy(data, frame.data(), frame.size());
  rt_native_xdp_md ctx{};
  ctx.data = reinterpret_cast<uintptr_t>(data);
  ctx.data_end = ctx.data + frame.size();
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  ctx.rx_queue_index = rx_queue;
  frame_limit_ = ctx.data_end;
  const int verdict = rt_native_run(&ctx);
  out->assign(reinterpret_cast<const uint8_t*>(ctx.data),
              reinterpret_cast<const uint8_t*>(ctx.data_end));
  frame_limit_ = 0;
  return verdict;
}

}  // namespace ringtrack

using ringtrack::g_native;

extern "C" {

void* rt_native_map_lookup_elem(void* map, const void* key) {
  return g_native->Lookup(map, key);
}

long rt_native_map_update_elem(void* map, const void* key, const void* value,
                               __u64 flags) {
  return g_native->Update(map, key, value, flags);
}

long rt_native_redirect_map(void*, __u64, __u64 flags) {
  // No XSK socket is ever in the map: the fallback action, as the kernel's
  // __bpf_xdp_redirect_map returns on a failed lookup.
  return static_cast<long>(flags & (XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX));
}

long rt_native_xdp_adjust_tail(rt_native_xdp_md* ctx, int delta) {
  const uint64_t end = ctx->data_end + static_cast<int64_t>(delta);
  if (end > g_native->frame_limit() || end < ctx->data + ETH_HLEN) {
    return -EINVAL;
  }
  ctx->data_end = end;
  return 0;
}

long rt_native_fib_lookup(void*, bpf_fib_lookup* params, int, __u32 flags) {
  return g_native->Fib(params, flags);
}

__u64 rt_native_ktime_get_ns(void) { return g_native->ktime_ns(); }

}  // extern "C"
