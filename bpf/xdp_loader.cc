#include "bpf/xdp_loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tracker.skel.h"

namespace ringtrack {
namespace {

absl::Status BpfError(int err, std::string_view what) {
  return absl::ErrnoToStatus(err < 0 ? -err : err, std::string(what));
}

int64_t ClockNs(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

absl::Status CheckRate(uint32_t pps, uint32_t burst) {
  if (pps > RT_XDP_MAX_RATE_PPS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "XDP rate limit ", pps, " packets/s is beyond what "
        "the limiter can time exactly (at most ", RT_XDP_MAX_RATE_PPS, ")"));
  }
  if (burst > RT_XDP_MAX_RATE_BURST) {
    return absl::InvalidArgumentError(
        absl::StrCat("XDP rate burst ", burst,
                     " is above the most allowed, ", RT_XDP_MAX_RATE_BURST));
  }
  return absl::OkStatus();
}

void (*g_libbpf_sink)(std::string_view) = nullptr;
// The last libbpf lines of the current Load(): the verifier's reason for a
// refusal is among them. Load() runs at start, on one thread.
std::vector<std::string> g_libbpf_lines;

int LibbpfPrint(libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // The verifier's log comes as one message of many lines (several KiB).
  va_list copy;
  va_copy(copy, args);
  const int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string buf(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(buf.data(), buf.size(), fmt, args);
  std::string_view text(buf.data(), static_cast<size_t>(n));
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.empty()) continue;
    if (g_libbpf_sink != nullptr) g_libbpf_sink(line);
    g_libbpf_lines.emplace_back(line);
  }
  if (g_libbpf_lines.size() > 256) {
    g_libbpf_lines.erase(g_libbpf_lines.begin(), g_libbpf_lines.end() - 128);
  }
  return n;
}

// The verifier's reason for refusing the program: the last line of its log
// that is not a statistic ("processed N insns", "verification time").
std::string VerifierReason() {
  bool in_log = false;
  std::string reason;
  for (const std::string& line : g_libbpf_lines) {
    if (line.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) {
      in_log = true;
      reason.clear();
    } else if (line.find("-- END PROG LOAD LOG --") != std::string::npos) {
      in_log = false;
    } else if (in_log && !absl::StartsWith(line, "processed ") &&
               !absl::StartsWith(line, "verification time") &&
               !absl::StartsWith(line, "stack depth")) {
      reason = line;
    }
  }
  return reason;
}

}  // namespace

void SetLibbpfLogSink(void (*sink)(std::string_view line)) { g_libbpf_sink = sink; }

std::string_view XdpCounterName(int c) {
  static constexpr std::string_view kNames[] = {
#define RT_XDP_COUNTER_NAME(id, name) name,
      RT_XDP_COUNTERS(RT_XDP_COUNTER_NAME)
#undef RT_XDP_COUNTER_NAME
  };
  static_assert(std::size(kNames) == RT_XDP_COUNTER_MAX);
  return c >= 0 && c < RT_XDP_COUNTER_MAX ? kNames[c] : "unknown";
}

absl::StatusOr<std::unique_ptr<XdpProgram>> XdpProgram::Load(
    const XdpOptions& options) {
  if (absl::Status s = CheckRate(options.rate_limit_pps, options.rate_burst);
      !s.ok()) {
    return s;
  }
  std::unique_ptr<XdpProgram> p(new XdpProgram());
  libbpf_set_print(LibbpfPrint);
  g_libbpf_lines.clear();
  p->skel_ = tracker::open();
  if (p->skel_ == nullptr) return BpfError(errno, "opening the XDP program");
  p->skel_->rodata->rt_connect_in_kernel = options.connect_in_kernel ? 1 : 0;
  p->skel_->rodata->rt_xsk_redirect = options.xsk_redirect ? 1 : 0;
  if (int err = tracker::load(p->skel_); err != 0) {
    const std::string reason = VerifierReason();
    return BpfError(err, reason.empty()
                             ? std::string("loading the XDP program")
                             : absl::StrCat("loading the XDP program (the "
                                            "verifier: ", reason, ")"));
  }
  if (options.access_capacity > 0) {
    // Created now, while the loader still has CAP_BPF; reloads after the
    // privilege drop only update them through these fds.
    p->access_capacity_ = options.access_capacity;
    for (int i = 0; i < 2; ++i) {
      LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
      p->acl_[i] = bpf_map_create(BPF_MAP_TYPE_HASH, i ? "rt_acl_b" : "rt_acl_a",
                                  sizeof(rt_info_hash), 1,
                                  options.access_capacity, &o);
      if (p->acl_[i] < 0) {
        return BpfError(errno, "creating the XDP access list map");
      }
    }
  }
  p->SyncClock();
  if (absl::Status s = p->SetRateLimit(options.rate_limit_pps, options.rate_burst);
      !s.ok()) {
    return s;
  }
  return p;
}

int XdpProgram::xsks_map_fd() const { return bpf_map__fd(skel_->maps.rt_xsks); }

absl::Status XdpProgram::SetRateLimit(uint32_t pps, uint32_t burst) {
  if (absl::Status s = CheckRate(pps, burst); !s.ok()) return s;
  // One aligned 64-bit store into the mmapped .bss: the program reads the
  // pair with one load.
  __atomic_store_n(&skel_->bss->rt_rate_config,
                   (uint64_t{burst} << 32) | pps, __ATOMIC_RELAXED);
  return absl::OkStatus();
}

XdpProgram::~XdpProgram() {
  for (int fd : acl_) {
    if (fd >= 0) close(fd);
  }
  for (int fd : link_fds_) close(fd);  // detaches
  if (skel_ != nullptr) tracker::destroy(skel_);
}

namespace {

// The name and id of the XDP program attached to `ifindex`, if any.
std::string AttachedProgram(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return "";
  for (uint32_t id : {q.drv_prog_id, q.skb_prog_id, q.hw_prog_id, q.prog_id}) {
    if (id == 0) continue;
    std::string name = "?";
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd >= 0) {
      bpf_prog_info info{};
      uint32_t len = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
      close(fd);
    }
    return absl::StrCat("'", name, "' (id ", id, ")");
  }
  return "";
}

absl::StatusOr<std::array<uint8_t, 6>> InterfaceMac(const std::string& ifname) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  const int r = ioctl(fd, SIOCGIFHWADDR, &req);
  const int err = errno;
  close(fd);
  if (r != 0) return absl::ErrnoToStatus(err, "SIOCGIFHWADDR " + ifname);
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
  return mac;
}

}  // namespace

namespace {

// Removes every entry of hash map `fd`.
absl::Status ClearMap(int fd) {
  constexpr uint32_t kBatch = 8192;
  std::vector<rt_info_hash> keys(kBatch);
  std::vector<uint8_t> values(kBatch);
  for (;;) {
    uint32_t n = kBatch;
    uint64_t out_batch = 0;
    const int r = bpf_map_lookup_and_delete_batch(
        fd, nullptr, &out_batch, keys.data(), values.data(), &n, nullptr);
    if (r != 0 && errno != ENOENT) {
      return BpfError(errno, "clearing the XDP access list map");
    }
    if (r != 0 || n == 0) return absl::OkStatus();  // ENOENT: all done
  }
}

}  // namespace

absl::Status XdpProgram::SetAccessList(const AccessList* list) {
  const uint32_t slot = 0;
  const int outer = bpf_map__fd(skel_->maps.rt_access);
  if (list == nullptr || acl_[0] < 0 || list->size() + 1 > access_capacity_) {
    bpf_map_delete_elem(outer, &slot);  // ENOENT when none was in force
    access_size_ = 0;
    if (list != nullptr && acl_[0] >= 0) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the access list has ", list->size(),
          " info hashes, more than the XDP mirror holds (",
          access_capacity_ - 1, " until a restart); userspace enforces it"));
    }
    if (list != nullptr) {
      return absl::FailedPreconditionError("XDP was loaded without a mirror");
    }
    return absl::OkStatus();
  }
  const int spare = acl_[1 - active_];
  if (absl::Status s = ClearMap(spare); !s.ok()) return s;
  std::vector<rt_info_hash> keys;
  std::vector<uint8_t> values;
  keys.reserve(list->size() + 1);
  // The mode entry (the all-zero hash), plus its listed bit if listed.
  rt_info_hash zero{};
  const bool zero_listed = list->hashes().contains(InfoHash{});
  keys.push_back(zero);
  values.push_back(static_cast<uint8_t>(
      (list->mode() == AccessList::Mode::kAllow ? RT_ACCESS_MODE_ALLOW
                                                : RT_ACCESS_MODE_DENY) |
      (zero_listed ? RT_ACCESS_LISTED : 0)));
  for (const InfoHash& h : list->hashes()) {
    if (h == InfoHash{}) continue;
    rt_info_hash k;
    std::memcpy(k.bytes, h.bytes.data(), sizeof(k.bytes));
    keys.push_back(k);
    values.push_back(RT_ACCESS_LISTED);
  }
  constexpr size_t kBatch = 65536;
  for (size_t at = 0; at < keys.size(); at += kBatch) {
    uint32_t n = static_cast<uint32_t>(std::min(kBatch, keys.size() - at));
    if (bpf_map_update_batch(spare, &keys[at], &values[at], &n, nullptr) != 0) {
      return BpfError(errno, "filling the XDP access list map");
    }
  }
  // One update makes the new list the one in force.
  if (bpf_map_update_elem(outer, &slot, &spare, BPF_ANY) != 0) {
    return BpfError(errno, "installing the XDP access list map");
  }
  const int old = acl_[active_];
  active_ = 1 - active_;
  access_size_ = list->size();
  // Frees the old entries. The update above returned only after an RCU
  // grace period (the kernel waits for running programs after every
  // map-in-map update), so no packet still reads the old map.
  return ClearMap(old);
}

absl::StatusOr<XdpMode> XdpProgram::Attach(const std::string& ifname,
                                           XdpMode mode) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) {
    return absl::NotFoundError(absl::StrCat("no interface named ", ifname));
  }
  if (const std::string there = AttachedProgram(ifindex); !there.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        ifname, " already has XDP program ", there,
        " attached; ringtrackd will not replace it (detach it first, or run "
        "without --xdp ", ifname, ")"));
  }
  absl::StatusOr<std::array<uint8_t, 6>> mac = InterfaceMac(ifname);
  if (!mac.ok()) return mac.status();
  if (absl::Status s = SetInterfaceMac(ifindex, *mac); !s.ok()) return s;
  const int prog = bpf_program__fd(skel_->progs.rt_xdp);
  auto try_link = [&](uint32_t flags) -> int {
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
    const int fd = bpf_link_create(prog, ifindex, BPF_XDP, &opts);
    if (fd >= 0) link_fds_.push_back(fd);
    return fd < 0 ? fd : 0;
  };
  if (mode != XdpMode::kGeneric) {
    const int err = try_link(XDP_FLAGS_DRV_MODE);
    if (err == 0) return XdpMode::kNative;
    if (mode == XdpMode::kNative) {
      return BpfError(err, absl::StrCat("attaching XDP (native) to ", ifname));
    }
  }
  const int err = try_link(XDP_FLAGS_SKB_MODE);
  if (err != 0) {
    return BpfError(err, absl::StrCat("attaching XDP (generic) to ", ifname));
  }
  return XdpMode::kGeneric;
}

int XdpProgram::AttachedInterfaces() const {
  int n = 0;
  for (int fd : link_fds_) {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.xdp.ifindex != 0) {
      ++n;
    }
  }
  return n;
}

absl::Status XdpProgram::SetInterfaceMac(int ifindex,
                                         const std::array<uint8_t, 6>& mac) {
  const uint32_t key = static_cast<uint32_t>(ifindex);
  rt_ifmac value{};
  std::memcpy(value.mac, mac.data(), 6);
  if (int err = bpf_map__update_elem(skel_->maps.rt_ifmacs, &key, sizeof(key),
                                     &value, sizeof(value), 0)) {
    return BpfError(err, "updating the XDP interface map");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> XdpProgram::SetDestinations(std::vector<XdpDest> dests) {
  std::sort(dests.begin(), dests.end());
  dests.erase(std::unique(dests.begin(), dests.end()), dests.end());
  if (dests == dests_) return false;
  if (dests.size() > RT_XDP_MAX_DESTS) {
    return absl::ResourceExhaustedError(absl::StrCat(
        dests.size(), " listen destinations; XDP serves at most ",
        RT_XDP_MAX_DESTS));
  }
  auto key_of = [](const XdpDest& d) {
    rt_dest_key k{};
    std::memcpy(k.addr, d.addr.data(), 16);
    k.port_be = htons(d.port);
    return k;
  };
  // Add first, then remove: a destination in both sets never disappears.
  const uint8_t one = 1;
  for (const XdpDest& d : dests) {
    const rt_dest_key k = key_of(d);
    if (int err = bpf_map__update_elem(skel_->maps.rt_dests, &k, sizeof(k),
                                       &one, sizeof(one), 0)) {
      return BpfError(err, "updating the XDP destination map");
    }
  }
  for (const XdpDest& d : dests_) {
    if (std::binary_search(dests.begin(), dests.end(), d)) continue;
    const rt_dest_key k = key_of(d);
    bpf_map__delete_elem(skel_->maps.rt_dests, &k, sizeof(k), 0);
  }
  dests_ = std::move(dests);
  return true;
}

absl::Status XdpProgram::UpdateKeys(const ConnectionIds& ids, uint32_t now) {
  const uint64_t e = now / RT_KEY_EPOCH_S;
  for (uint64_t epoch = e - 1; epoch <= e + 1; ++epoch) {
    const rt_conn_key key = ids.KeyForEpoch(epoch);
    const uint32_t slot = static_cast<uint32_t>(epoch % RT_KEY_SLOTS);
    if (int err = bpf_map__update_elem(skel_->maps.rt_keys, &slot, sizeof(slot),
                                       &key, sizeof(key), 0)) {
      return BpfError(err, "updating the XDP key map");
    }
  }
  return absl::OkStatus();
}

void XdpProgram::SyncClock() {
  const int64_t offset = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_MONOTONIC);
  // One aligned 64-bit store into the mmapped .bss: the program reads
  // either the old or the new offset, both valid to within a second.
  __atomic_store_n(&skel_->bss->rt_clock_offset_ns, offset, __ATOMIC_RELAXED);
}

void XdpProgram::SetClockForTest(uint32_t unix_seconds) {
  const int64_t offset =
      int64_t{unix_seconds} * 1'000'000'000LL - ClockNs(CLOCK_MONOTONIC);
  __atomic_store_n(&skel_->bss->rt_clock_offset_ns, offset, __ATOMIC_RELAXED);
}

void XdpProgram::ClearRateLimiterForTest() {
  rt_rate_key key;
  // Deleting the key just read makes the next lookup from the start valid.
  while (bpf_map__get_next_key(skel_->maps.rt_rate, nullptr, &key,
                               sizeof(key)) == 0) {
    if (bpf_map__delete_elem(skel_->maps.rt_rate, &key, sizeof(key), 0) != 0) {
      return;
    }
  }
}

std::array<uint64_t, RT_XDP_COUNTER_MAX> XdpProgram::Counters() const {
  std::array<uint64_t, RT_XDP_COUNTER_MAX> sums{};
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return sums;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t i = 0; i < RT_XDP_COUNTER_MAX; ++i) {
    if (bpf_map__lookup_elem(skel_->maps.rt_counters, &i, sizeof(i),
                             values.data(), values.size() * sizeof(uint64_t),
                             0) == 0) {
      for (uint64_t v : values) sums[i] += v;
    }
  }
  return sums;
}

absl::StatusOr<int> XdpProgram::TestRun(std::span<const uint8_t> frame,
                                        std::vector<uint8_t>* out,
                                        int ifindex) const {
  out->assign(frame.size() + 256, 0);
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_out = out->data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(out->size()),
              .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
  const int err =
      bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.rt_xdp), &opts);
  if (err != 0) return BpfError(err, "BPF_PROG_TEST_RUN");
  out->resize(opts.data_size_out);
  return static_cast<int>(opts.retval);
}

}  // namespace ringtrack
