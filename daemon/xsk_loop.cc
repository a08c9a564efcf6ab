#include "daemon/xsk_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include <array>
#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bpf/tracker_shared.h"
#include "core/udp/udp_tracker.h"
#include "core/base/wire.h"

namespace ringtrack {
namespace {

constexpr uint32_t kFrameSize = RT_XSK_FRAME_SIZE;
constexpr uint32_t kFrames = 4096;
constexpr uint32_t kRxRing = 2048;
constexpr uint32_t kTxRing = 2048;
constexpr uint32_t kBatch = 64;
constexpr uint32_t kKickEvery = 32;  // the kernel's copy-mode TX batch
constexpr size_t kEth = 14, kIp4 = 20, kIp6 = 40, kUdp = 8;

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

struct XskLoop::State {
  void* area = MAP_FAILED;
  size_t area_bytes = size_t{kFrames} * kFrameSize;
  xsk_umem* umem = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_socket* xsk = nullptr;
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  int fd = -1;
  std::vector<uint64_t> spare;  // frames waiting to go back to the fill ring
  std::array<uint8_t, kMaxUdpReplySize> reply{};

  ~State() {
    if (xsk != nullptr) xsk_socket__delete(xsk);
    if (umem != nullptr) xsk_umem__delete(umem);
    if (area != MAP_FAILED) munmap(area, area_bytes);
  }
  uint8_t* frame(uint64_t addr) { return static_cast<uint8_t*>(area) + addr; }

  // Returns frames to the fill ring (what does not fit stays in spare).
  void Refill() {
    if (spare.empty()) return;
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_prod__reserve(
        &fill, static_cast<uint32_t>(spare.size()), &idx);
    for (uint32_t k = 0; k < n; ++k) {
      *xsk_ring_prod__fill_addr(&fill, idx + k) = spare[spare.size() - 1 - k];
    }
    if (n > 0) {
      xsk_ring_prod__submit(&fill, n);
      spare.resize(spare.size() - n);
    }
  }

  // Frames whose replies were sent go back to the fill ring.
  void ReapCompletions() {
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&comp, kTxRing, &idx);
    for (uint32_t k = 0; k < n; ++k) {
      spare.push_back(*xsk_ring_cons__comp_addr(&comp, idx + k));
    }
    if (n > 0) xsk_ring_cons__release(&comp, n);
  }
};

XskLoop::XskLoop(WorkerCore* core) : core_(core), st_(new State) {}
XskLoop::~XskLoop() = default;

absl::StatusOr<std::unique_ptr<XskLoop>> XskLoop::Create(
    const std::string& ifname, uint32_t queue, int xsks_map_fd,
    WorkerCore* core) {
  std::unique_ptr<XskLoop> loop(new XskLoop(core));
  State& st = *loop->st_;
  st.area = mmap(nullptr, st.area_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (st.area == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap UMEM");
  xsk_umem_config uc{};
  uc.fill_size = kFrames;
  uc.comp_size = kTxRing;
  uc.frame_size = kFrameSize;
  uc.frame_headroom = 0;
  int r = xsk_umem__create(&st.umem, st.area, st.area_bytes, &st.fill,
                           &st.comp, &uc);
  if (r != 0) return absl::ErrnoToStatus(-r, "xsk_umem__create");
  xsk_socket_config sc{};
  sc.rx_size = kRxRing;
  sc.tx_size = kTxRing;
  sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  sc.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
  r = xsk_socket__create(&st.xsk, ifname.c_str(), queue, st.umem, &st.rx,
                         &st.tx, &sc);
  if (r != 0) return absl::ErrnoToStatus(-r, "xsk_socket__create " + ifname);
  st.fd = xsk_socket__fd(st.xsk);
  r = xsk_socket__update_xskmap(st.xsk, xsks_map_fd);
  if (r != 0) return absl::ErrnoToStatus(-r, "xsk_socket__update_xskmap");
  for (uint32_t i = 0; i < kFrames; ++i) st.spare.push_back(uint64_t{i} * kFrameSize);
  st.Refill();
  return loop;
}

namespace {

// Turns the request frame `f` (`len` bytes: Ethernet, at most one VLAN
// tag, IPv4 without options or IPv6, UDP) into its reply in place: MACs,
// addresses and ports swapped, lengths, TTL and checksums rewritten, the
// payload replaced by `reply` (`n` bytes). Returns the reply frame's
// length. REQUIRES: ParseFrame() accepted it with these offsets.
size_t BuildReply(uint8_t* f, size_t l3, bool v6, const uint8_t* reply,
                  size_t n) {
  uint8_t mac[6];
  std::memcpy(mac, f, 6);
  std::memcpy(f, f + 6, 6);
  std::memcpy(f + 6, mac, 6);
  uint8_t* ip = f + l3;
  uint8_t* udp;
  if (!v6) {
    uint8_t a[4];
    std::memcpy(a, ip + 12, 4);
    std::memcpy(ip + 12, ip + 16, 4);
    std::memcpy(ip + 16, a, 4);
    wire::StoreBe16(ip + 2, static_cast<uint16_t>(kIp4 + kUdp + n));
    wire::StoreBe16(ip + 4, 0);       // id (DF set: never fragmented)
    wire::StoreBe16(ip + 6, 0x4000);
    ip[8] = 64;             // TTL
    wire::StoreBe16(ip + 10, 0);
    wire::StoreBe16(ip + 10, Fold(Sum16(ip, kIp4)));
    udp = ip + kIp4;
  } else {
    uint8_t a[16];
    std::memcpy(a, ip + 8, 16);
    std::memcpy(ip + 8, ip + 24, 16);
    std::memcpy(ip + 24, a, 16);
    wire::StoreBe16(ip + 4, static_cast<uint16_t>(kUdp + n));
    ip[7] = 64;  // hop limit
    udp = ip + kIp6;
  }
  uint8_t port[2];
  std::memcpy(port, udp, 2);
  std::memcpy(udp, udp + 2, 2);
  std::memcpy(udp + 2, port, 2);
  wire::StoreBe16(udp + 4, static_cast<uint16_t>(kUdp + n));
  wire::StoreBe16(udp + 6, 0);  // optional over IPv4
  std::memcpy(udp + kUdp, reply, n);
  if (v6) {  // mandatory over IPv6: pseudo-header, header and payload
    uint32_t sum = Sum16(ip + 8, 32);
    sum += static_cast<uint32_t>(kUdp + n) + IPPROTO_UDP;
    sum = Sum16(udp, kUdp + n, sum);
    const uint16_t c = Fold(sum);
    wire::StoreBe16(udp + 6, c == 0 ? 0xffff : c);
  }
  return static_cast<size_t>(udp + kUdp + n - f);
}

struct Parsed {
  size_t l3 = 0;
  bool v6 = false;
  sockaddr_storage from{};
  socklen_t from_len = 0;
  std::span<const uint8_t> payload;
};

// Finds the UDP payload and source of a frame the XDP program redirected
// (it checked the same layout); false for anything else.
bool ParseFrame(const uint8_t* f, size_t len, Parsed* p) {
  if (len < kEth) return false;
  size_t l3 = kEth;
  uint16_t proto = wire::LoadBe16(f + 12);
  if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
    if (len < kEth + 4) return false;
    proto = wire::LoadBe16(f + 16);
    l3 += 4;
  }
  const uint8_t* udp;
  if (proto == ETH_P_IP) {
    if (len < l3 + kIp4 + kUdp || f[l3] != 0x45) return false;
    auto* sin = reinterpret_cast<sockaddr_in*>(&p->from);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, f + l3 + 12, 4);
    p->from_len = sizeof(sockaddr_in);
    udp = f + l3 + kIp4;
    std::memcpy(&sin->sin_port, udp, 2);
    p->v6 = false;
  } else if (proto == ETH_P_IPV6) {
    if (len < l3 + kIp6 + kUdp || f[l3 + 6] != IPPROTO_UDP) return false;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&p->from);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, f + l3 + 8, 16);
    p->from_len = sizeof(sockaddr_in6);
    udp = f + l3 + kIp6;
    std::memcpy(&sin6->sin6_port, udp, 2);
    p->v6 = true;
  } else {
    return false;
  }
  const size_t ulen = wire::LoadBe16(udp + 4);
  const size_t room = len - static_cast<size_t>(udp - f);
  if (ulen < kUdp || ulen > room) return false;
  p->l3 = l3;
  p->payload = {udp + kUdp, ulen - kUdp};
  return true;
}

}  // namespace

uint64_t XskLoop::KernelDrops() const {
  xdp_statistics st{};
  socklen_t len = sizeof(st);
  if (getsockopt(st_->fd, SOL_XDP, XDP_STATISTICS, &st, &len) != 0) return 0;
  // rx_ring_full came with Linux 5.9; an older kernel's shorter struct
  // leaves it 0.
  return st.rx_dropped + st.rx_ring_full;
}

void XskLoop::Run() {
  State& st = *st_;
  uint32_t unkicked = 0;  // replies on the TX ring the kernel was not told of
  // Copy mode transmits only when asked, up to 32 frames per call: one
  // kick per 32 replies, or before going to sleep.
  auto kick = [&] {
    if (unkicked == 0) return;
    if (sendto(st.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 &&
        errno != EAGAIN && errno != EBUSY && errno != ENOBUFS) {
      core_->io.send_errors.Add(unkicked);
    } else {
      core_->io.sent.Add(unkicked);
    }
    unkicked = 0;
  };
  core_->Online();
  while (!core_->stopping()) {
    // Between batches: this loop blocks only when idle (offline below).
    core_->Quiescent();
    st.ReapCompletions();
    st.Refill();
    uint32_t rx_idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&st.rx, kBatch, &rx_idx);
    if (n == 0) {
      kick();
      // Idle: sleep until a frame arrives (bounded, to notice a stop).
      pollfd p{st.fd, POLLIN, 0};
      core_->Offline();
      poll(&p, 1, 100);
      core_->Online();
      continue;
    }
    // The kernel wrote these frames on another CPU: start moving all of
    // them here (headers and the request's first bytes) before parsing any.
    for (uint32_t k = 0; k < n; ++k) {
      const uint8_t* f = st.frame(xsk_umem__extract_addr(
          xsk_ring_cons__rx_desc(&st.rx, rx_idx + k)->addr));
      __builtin_prefetch(f);
      __builtin_prefetch(f + 64);
    }
    for (uint32_t k = 0; k < n; ++k) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&st.rx, rx_idx + k);
      const uint64_t addr = xsk_umem__extract_addr(d->addr);
      uint8_t* f = st.frame(addr);
      core_->io.xsk_frames.Add();
      Parsed p;
      if (!ParseFrame(f, d->len, &p)) {
        core_->io.truncated.Add();
        st.spare.push_back(addr);
        continue;
      }
      const size_t rn =
          core_->Handle(p.payload, reinterpret_cast<const sockaddr*>(&p.from),
                        p.from_len, st.reply);
      if (rn == 0) {
        st.spare.push_back(addr);
        continue;
      }
      uint32_t tx_idx = 0;
      if (xsk_ring_prod__reserve(&st.tx, 1, &tx_idx) != 1) {
        core_->io.send_errors.Add();  // TX ring full: the reply is dropped
        st.spare.push_back(addr);
        continue;
      }
      xdp_desc* t = xsk_ring_prod__tx_desc(&st.tx, tx_idx);
      t->addr = addr;
      t->len = static_cast<uint32_t>(
          BuildReply(f, p.l3, p.v6, st.reply.data(), rn));
      xsk_ring_prod__submit(&st.tx, 1);
      if (++unkicked == kKickEvery) kick();
    }
    xsk_ring_cons__release(&st.rx, n);
  }
  core_->Offline();
  kick();
}

}  // namespace ringtrack
