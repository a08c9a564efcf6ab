#include "daemon/server.h"

#include <ifaddrs.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon/log.h"
#include "daemon/system_memory.h"

namespace ringtrack {
namespace {

SourceLimiterConfig LimiterConfig(const ServerConfig& c) {
  const MasterKey seed = RandomMasterKey();
  SourceLimiterConfig l;
  l.rate_per_s = c.source_torrent_rate;
  l.burst = c.source_torrent_burst;
  l.seed0 = seed.k0;
  l.seed1 = seed.k1;
  return l;
}

SwarmTableConfig TableConfig(const ServerConfig& c, MemoryBudget* budget,
                             SourceLimiter* limiter) {
  const MasterKey seed = RandomMasterKey();
  SwarmTableConfig t;
  t.max_torrents = c.max_torrents;
  t.seed0 = seed.k0;
  t.seed1 = seed.k1;
  t.peer_timeout_s = c.peer_timeout_s;
  t.max_peers_per_source = c.max_peers_per_source;
  t.max_peers_per_swarm = c.max_peers_per_swarm;
  t.budget = budget;
  t.limiter = limiter;
  return t;
}

// "1" or "0" from a /proc/sys file; -1 if unreadable.
int ReadSysctl(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  int v = -1;
  if (std::fscanf(f, "%d", &v) != 1) v = -1;
  std::fclose(f);
  return v;
}

// What the XDP program serves: each specific listen address, and for a
// wildcard listen every local address of its family on this host (read
// again every second, so added and removed addresses are followed).
std::vector<XdpDest> XdpDestinations(const std::vector<ListenAddress>& bound) {
  std::vector<XdpDest> out;
  ifaddrs* list = nullptr;
  const bool have_list = getifaddrs(&list) == 0;
  for (const ListenAddress& a : bound) {
    auto add = [&](const sockaddr* sa) {
      XdpDest d;
      d.port = a.port();
      if (sa->sa_family == AF_INET) {
        d.addr[10] = d.addr[11] = 0xff;
        std::memcpy(&d.addr[12],
                    &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
      } else {
        std::memcpy(d.addr.data(),
                    &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
      }
      out.push_back(d);
    };
    if (!IsWildcard(a)) {
      add(reinterpret_cast<const sockaddr*>(&a.addr));
      continue;
    }
    for (ifaddrs* i = have_list ? list : nullptr; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == a.family()) {
        add(i->ifa_addr);
      }
    }
  }
  if (list != nullptr) freeifaddrs(list);
  return out;
}

}  // namespace

Server::Server(const ServerConfig& config, MasterKey key)
    : config_(config),
      ids_(key, clock_.now()),
      budget_(config.max_memory),
      limiter_(LimiterConfig(config)),
      table_(TableConfig(config, &budget_, &limiter_)),
      tracker_(config.tracker, &table_, &ids_) {}

Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    const ServerConfig& config) {
  MasterKey key = RandomMasterKey();
  if (!config.connection_key_file.empty()) {
    absl::StatusOr<MasterKey> k =
        LoadMasterKeyFile(config.connection_key_file, /*create=*/true);
    if (!k.ok()) return k.status();
    key = *k;
  }
  std::unique_ptr<Server> s(new Server(config, key));

  if (config.io != IoMode::kMmsg) {
    absl::Status probe = ProbeUring();
    if (probe.ok()) {
      s->io_path_ = IoPath::kUring;
    } else if (config.io == IoMode::kUring) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--io=uring but io_uring is unavailable: ", probe.message()));
    } else {
      log::Warning("io_uring unavailable (%s); using recvmmsg/sendmmsg",
                   probe.message());
    }
  }

  s->sockets_.resize(config.workers);
  for (const ListenAddress& want : config.listen) {
    ListenAddress addr = want;
    if (addr.port() != 0) {
      // SO_REUSEPORT would let us join another process's group on the same
      // port; a plain bind first tells us the port is really free.
      SocketOptions probe = config.socket;
      probe.reuse_port = false;
      probe.buffer_bytes = 0;
      absl::StatusOr<UniqueFd> fd = OpenUdpSocket(addr, probe);
      if (!fd.ok()) return fd.status();
    }
    for (int w = 0; w < config.workers; ++w) {
      absl::StatusOr<UniqueFd> fd = OpenUdpSocket(addr, config.socket);
      if (!fd.ok()) return fd.status();
      if (w == 0) {  // later workers join the port the first one got
        absl::StatusOr<ListenAddress> b = BoundAddress(fd->get());
        if (!b.ok()) return b.status();
        addr = *b;
        s->bound_.push_back(addr);
      }
      s->sockets_[w].push_back(std::move(*fd));
    }
  }
  if (!config.xdp_interfaces.empty()) {
    if (absl::Status x = s->SetUpXdp(); !x.ok()) {
      if (!config.xdp_optional) return x;
      log::Warning("running without XDP: %s", x.message());
      s->xdp_.reset();
      s->xdp_summary_ = "off";
    }
  }
  return s;
}

absl::Status Server::SetUpXdp() {
  XdpOptions options;
  options.connect_in_kernel = config_.xdp_connect;
  options.rate_limit_pps = config_.xdp_rate_limit_pps;
  absl::StatusOr<std::unique_ptr<XdpProgram>> prog = XdpProgram::Load(options);
  if (!prog.ok()) return prog.status();
  xdp_ = std::move(*prog);
  if (absl::StatusOr<bool> d = xdp_->SetDestinations(XdpDestinations(bound_));
      !d.ok()) {
    return d.status();
  }
  if (absl::Status k = xdp_->UpdateKeys(ids_, clock_.now()); !k.ok()) return k;
  std::vector<std::string> parts;
  for (const std::string& ifname : config_.xdp_interfaces) {
    absl::StatusOr<XdpMode> mode = xdp_->Attach(ifname, config_.xdp_mode);
    if (!mode.ok()) return mode.status();
    parts.push_back(absl::StrCat(
        ifname, *mode == XdpMode::kNative ? "(native)" : "(generic)"));
    const int v4 = ReadSysctl("/proc/sys/net/ipv4/conf/" + ifname + "/forwarding");
    const int v6 = ReadSysctl("/proc/sys/net/ipv6/conf/all/forwarding");
    if (config_.xdp_connect && (v4 == 0 || v6 == 0)) {
      log::Warning(
          "XDP on %s: the kernel routes in-kernel connect replies only where "
          "IP forwarding is on (net.ipv4.conf.%s.forwarding=%d, "
          "net.ipv6.conf.all.forwarding=%d); other connects are answered in "
          "userspace",
          ifname, ifname, v4, v6);
    }
  }
  xdp_summary_ = absl::StrJoin(parts, ",");
  if (!config_.xdp_connect)
    absl::StrAppend(&xdp_summary_, " connect=userspace");
  return absl::OkStatus();
}

void Server::Start() {
  for (int w = 0; w < config_.workers; ++w) {
    cores_.push_back(std::make_unique<WorkerCore>(
        WorkerShared{&tracker_, &clock_, &stop_}, RandomMasterKey().k0));
  }
  threads_.emplace_back([this] { RunHousekeeping(); });
  for (int w = 0; w < config_.workers; ++w) {
    threads_.emplace_back([this, w] { RunWorker(static_cast<size_t>(w)); });
  }
}

void Server::Stop() {
  stop_.store(true);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Server::RunWorker(size_t index) {
  std::vector<int> fds;
  for (const UniqueFd& fd : sockets_[index]) fds.push_back(fd.get());
  WorkerCore* core = cores_[index].get();
  if (io_path_ == IoPath::kUring) {
    absl::StatusOr<std::unique_ptr<UringLoop>> loop =
        UringLoop::Create(fds, config_.uring, core);
    if (loop.ok()) {
      (*loop)->Run();
      return;
    }
    log::Warning("worker %d: io_uring setup failed (%s); using recvmmsg", index,
                 loop.status().message());
  }
  RunMmsgLoop(fds, core);
}

void Server::RunHousekeeping() {
  const int64_t ticks_per_pass = std::max<int64_t>(
      1, absl::ToInt64Milliseconds(config_.sweep_period) / 100);
  uint32_t last_refresh = 0;
  absl::Time next_stats = absl::Now() + config_.stats_interval;
  while (!stop_.load()) {
    absl::SleepFor(absl::Milliseconds(100));
    clock_.Tick();
    const uint32_t now = clock_.now();
    if (now != last_refresh) {
      ids_.Refresh(now);
      if (xdp_) {
        xdp_->SyncClock();
        if (absl::Status k = xdp_->UpdateKeys(ids_, now); !k.ok()) {
          log::Error("XDP key update failed: %s", k.message());
        }
        absl::StatusOr<bool> d = xdp_->SetDestinations(XdpDestinations(bound_));
        if (!d.ok()) {
          log::Error("XDP destination update failed: %s", d.status().message());
        } else if (*d) {
          log::Info("XDP destinations updated (local addresses changed)");
        }
      }
      last_refresh = now;
    }
    // The table grows, so the share of it swept per tick is recomputed.
    table_.Sweep(now, std::max<size_t>(64, table_.capacity() / ticks_per_pass));
    if (config_.stats_interval > absl::ZeroDuration() &&
        absl::Now() >= next_stats) {
      log::Info("stats %s", StatsLine());
      next_stats += config_.stats_interval;
    }
  }
}

std::string Server::StatsLine() const {
  uint64_t outcomes[static_cast<size_t>(Outcome::kCount)] = {};
  uint64_t invalid[static_cast<size_t>(protocol::ParseError::kCount)] = {};
  uint64_t rx = 0, tx = 0, trunc = 0, nobufs = 0, rx_err = 0,
           tx_err = 0, bytes_in = 0, bytes_out = 0, sq_full = 0, overflows = 0;
  for (const auto& c : cores_) {
    for (size_t i = 0; i < std::size(outcomes); ++i) {
      outcomes[i] += c->stats.outcomes[i].value();
    }
    for (size_t i = 0; i < std::size(invalid); ++i) {
      invalid[i] += c->stats.invalid[i].value();
    }
    bytes_in += c->stats.bytes_in.value();
    bytes_out += c->stats.bytes_out.value();
    rx += c->io.received.value();
    tx += c->io.sent.value();
    trunc += c->io.truncated.value();
    nobufs += c->io.no_buffers.value();
    rx_err += c->io.recv_errors.value();
    tx_err += c->io.send_errors.value();
    sq_full += c->io.sq_full.value();
    overflows += c->io.cq_overflows.value();
  }
  const SwarmTableStats t = table_.stats();
  std::string line = absl::StrFormat(
      "datagrams_received=%d replies_sent=%d connects=%d announces=%d "
      "scrapes=%d error_replies=%d bad_connection_ids=%d invalid=%d "
      "refused_torrent_memory=%d refused_torrent_rate=%d "
      "refused_peer_memory=%d unstored_peer_source_cap=%d "
      "unstored_peer_swarm_cap=%d truncated=%d no_buffers=%d "
      "recv_errors=%d send_errors=%d bytes_in=%d bytes_out=%d torrents=%d "
      "peers_v4=%d peers_v6=%d seeders=%d table_slots=%d table_bytes=%d "
      "memory_budget_bytes=%d rss_bytes=%d max_probe_slots=%d tombstones=%d "
      "sq_full=%d cq_overflows=%d",
      rx, tx, outcomes[static_cast<size_t>(Outcome::kConnect)],
      outcomes[static_cast<size_t>(Outcome::kAnnounce)],
      outcomes[static_cast<size_t>(Outcome::kScrape)],
      outcomes[static_cast<size_t>(Outcome::kErrorReply)],
      outcomes[static_cast<size_t>(Outcome::kBadConnectionId)],
      outcomes[static_cast<size_t>(Outcome::kInvalid)],
      t.refused.torrent_memory, t.refused.torrent_rate, t.refused.peer_memory,
      t.refused.peer_source_cap, t.refused.peer_swarm_cap, trunc, nobufs,
      rx_err, tx_err, bytes_in, bytes_out, t.torrents, t.peers_v4, t.peers_v6,
      t.seeders, table_.capacity(), table_.MemoryBytes(), budget_.limit(),
      ResidentBytes(), table_.max_probe(), table_.tombstones(), sq_full,
      overflows);
  if (xdp_) {
    const auto counters = xdp_->Counters();
    for (int i = 0; i < RT_XDP_COUNTER_MAX; ++i) {
      absl::StrAppend(&line, " xdp_", std::string(XdpCounterName(i)), "=",
                      counters[i]);
    }
  }
  for (size_t i = 1; i < std::size(invalid); ++i) {
    absl::StrAppend(&line, " invalid_",
                    std::string(protocol::ParseErrorName(
                        static_cast<protocol::ParseError>(i))),
                    "=", invalid[i]);
  }
  return line;
}

}  // namespace ringtrack
