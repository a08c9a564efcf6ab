#include "bpf/xdp_loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace

std::string_view XdpCounterName(int c) {
  static constexpr std::string_view kNames[] = {"pass",
                                                "pass_other",
                                                "drop_short",
                                                "drop_bad_magic",
                                                "drop_unknown_action",
                                                "drop_error_action",
                                                "drop_announce_short",
                                                "drop_scrape_length",
                                                "drop_bad_connection_id",
                                                "drop_rate_limit",
                                                "tx_connect",
                                                "pass_connect"};
  static_assert(std::size(kNames) == RT_XDP_COUNTER_MAX);
  return c >= 0 && c < RT_XDP_COUNTER_MAX ? kNames[c] : "unknown";
}

absl::StatusOr<std::unique_ptr<XdpProgram>> XdpProgram::Load(
    const XdpOptions& options) {
  std::unique_ptr<XdpProgram> p(new XdpProgram());
  libbpf_set_print(
      [](libbpf_print_level level, const char* fmt, va_list args) -> int {
        return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
      });
  p->skel_ = tracker::open();
  if (p->skel_ == nullptr) return BpfError(errno, "opening the XDP program");
  p->skel_->rodata->rt_connect_in_kernel = options.connect_in_kernel ? 1 : 0;
  p->skel_->rodata->rt_rate_limit_pps = options.rate_limit_pps;
  p->skel_->rodata->rt_rate_burst = options.rate_burst;
  if (int err = tracker::load(p->skel_); err != 0) {
    return BpfError(err,
                    "loading the XDP program (needs CAP_BPF and "
                    "CAP_NET_ADMIN, or root)");
  }
  for (uint16_t port : options.ports) {
    const uint16_t key = htons(port);
    const uint8_t one = 1;
    if (int err = bpf_map__update_elem(p->skel_->maps.rt_ports, &key,
                                       sizeof(key), &one, sizeof(one), 0)) {
      return BpfError(err, "filling the XDP port map");
    }
  }
  p->SyncClock();
  return p;
}

XdpProgram::~XdpProgram() {
  for (const Attachment& a : attached_) {
    bpf_xdp_detach(a.ifindex, a.flags, nullptr);
  }
  if (skel_ != nullptr) tracker::destroy(skel_);
}

absl::StatusOr<XdpMode> XdpProgram::Attach(const std::string& ifname,
                                           XdpMode mode) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) {
    return absl::NotFoundError(absl::StrCat("no interface named ", ifname));
  }
  const int fd = bpf_program__fd(skel_->progs.rt_xdp);
  auto try_attach = [&](uint32_t flags) -> int {
    const int err = bpf_xdp_attach(ifindex, fd, flags, nullptr);
    if (err == 0) attached_.push_back({ifindex, flags, ifname});
    return err;
  };
  if (mode != XdpMode::kGeneric) {
    const int err = try_attach(XDP_FLAGS_DRV_MODE);
    if (err == 0) return XdpMode::kNative;
    if (mode == XdpMode::kNative) {
      return BpfError(err, absl::StrCat("attaching XDP (native) to ", ifname));
    }
  }
  const int err = try_attach(XDP_FLAGS_SKB_MODE);
  if (err != 0) {
    return BpfError(err, absl::StrCat("attaching XDP (generic) to ", ifname));
  }
  return XdpMode::kGeneric;
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
                                        std::vector<uint8_t>* out) const {
  out->assign(frame.size() + 256, 0);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_out = out->data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(out->size()), .repeat = 1);
  const int err =
      bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.rt_xdp), &opts);
  if (err != 0) return BpfError(err, "BPF_PROG_TEST_RUN");
  out->resize(opts.data_size_out);
  return static_cast<int>(opts.retval);
}

}  // namespace ringtrack
