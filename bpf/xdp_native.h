// XdpNative: bpf/tracker.bpf.c compiled as an ordinary native object (see
// bpf/xdp_native_shim.h), for coverage-guided fuzzing and for a
// differential check against the kernel's run of the same source.
//
// It offers the map updates XdpProgram offers (destinations, interface
// MACs, keys, clock, rate limit, access list) plus what a test needs to
// make runs reproducible: a fixed clock, a cleared rate limiter, read-only
// configuration switchable between runs, and the routing table that
// bpf_fib_lookup consults. Helpers keep the kernel's semantics as the
// program uses them:
//   - hash maps refuse inserts past capacity (-E2BIG); the LRU map evicts
//     an arbitrary entry instead of the least recently used one;
//   - per-CPU maps have one CPU;
//   - bpf_redirect_map into the XSKMAP finds no socket (tests attach none)
//     and returns the fallback action, as BPF_PROG_TEST_RUN does;
//   - bpf_xdp_adjust_tail refuses to shrink below an Ethernet header or to
//     grow past the frame as given;
//   - bpf_ktime_get_ns returns the time set by SetKtimeNs (it never moves
//     by itself).
// The frame is run in a buffer of exactly its size, so AddressSanitizer
// reports any access past data_end that the verifier would have refused.
//
// Thread safety: none. The program's maps and globals are the process's,
// so at most one XdpNative exists at a time.
#ifndef RINGTRACK_BPF_XDP_NATIVE_H_
#define RINGTRACK_BPF_XDP_NATIVE_H_

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "bpf/tracker_shared.h"
#include "bpf/xdp_loader.h"
#include "core/tracker/access_list.h"
#include "core/udp/connection_id.h"

namespace ringtrack {

class XdpNative {
 public:
  // What bpf_fib_lookup answers: fills `params` (dmac, smac, ifindex) and
  // returns a BPF_FIB_LKUP_RET_* code. The default routes nothing
  // (BPF_FIB_LKUP_RET_NOT_FWDED).
  using FibLookup = std::function<long(bpf_fib_lookup* params, uint32_t flags)>;

  // The configuration XdpProgram::Load takes. REQUIRES: no other XdpNative.
  explicit XdpNative(const XdpOptions& options);
  ~XdpNative();
  XdpNative(const XdpNative&) = delete;
  XdpNative& operator=(const XdpNative&) = delete;

  // As XdpProgram's.
  void SetDestinations(const std::vector<XdpDest>& dests);
  void SetInterfaceMac(int ifindex, const std::array<uint8_t, 6>& mac);
  void UpdateKeys(const ConnectionIds& ids, uint32_t now);
  // Makes the program's clock read `unix_seconds` (until SetKtimeNs).
  void SetClockForTest(uint32_t unix_seconds);
  void SetRateLimit(uint32_t pps, uint32_t burst);
  // False (no list in force) for a list beyond options.access_capacity, or
  // without a mirror, as XdpProgram's refusals.
  bool SetAccessList(const AccessList* list);
  std::array<uint64_t, RT_XDP_COUNTER_MAX> Counters() const;

  // For tests.
  // Switches the read-only configuration (the loader's, set before load).
  void SetReadOnlyConfig(bool connect_in_kernel, bool xsk_redirect);
  // Forgets every source the rate limiter has seen.
  void ClearRateLimiter();
  void SetFibLookup(FibLookup fib) { fib_ = std::move(fib); }
  // What bpf_ktime_get_ns returns from now on (the clock offset is kept, so
  // the program's Unix time moves with it).
  void SetKtimeNs(uint64_t ns) { ktime_ns_ = ns; }

  // Runs the program once over `frame` as if received on `ifindex`, queue
  // `rx_queue`; returns the XDP verdict and the frame as the program left
  // it, as XdpProgram::TestRun.
  int Run(std::span<const uint8_t> frame, std::vector<uint8_t>* out,
          int ifindex = 1, uint32_t rx_queue = 0);

  struct Map;  // a map as plain C++ structures (bpf/xdp_native.cc)

  // The helpers' implementations (called through bpf/xdp_native_shim.h).
  void* Lookup(void* map, const void* key);
  long Update(void* map, const void* key, const void* value, uint64_t flags);
  long Fib(bpf_fib_lookup* params, uint32_t flags) const;
  uint64_t ktime_ns() const { return ktime_ns_; }
  // The end of the frame buffer of the run in progress (adjust_tail's limit).
  uint64_t frame_limit() const { return frame_limit_; }

 private:
  // The map the program knows as `map` (its definition's address, or an
  // inner map's), or nullptr.
  Map* MapOf(void* map) const;
  // Update() on a map already found: the harness's own updates.
  long Put(Map* m, const void* key, const void* value, uint64_t flags);

  std::vector<std::unique_ptr<Map>> maps_;  // the program's, by definition
  std::unique_ptr<Map> acl_;                // the access list in force
  const AccessList* acl_list_ = nullptr;    // what acl_ mirrors
  uint32_t access_capacity_ = 0;
  Map* dests_ = nullptr;
  Map* ifmacs_ = nullptr;
  Map* keys_ = nullptr;
  Map* counters_ = nullptr;
  Map* rate_ = nullptr;
  Map* access_ = nullptr;
  FibLookup fib_;
  uint64_t ktime_ns_ = 1'000'000'000'000;  // any fixed time
  uint64_t frame_limit_ = 0;
};

}  // namespace ringtrack

#endif  // RINGTRACK_BPF_XDP_NATIVE_H_
