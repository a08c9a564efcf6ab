#include "daemon/server.h"

#include <ifaddrs.h>
#include <linux/capability.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/netmap/libloc_reader.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/privileges.h"
#include "daemon/process_stats.h"
#include "daemon/state_file.h"
#include "daemon/xsk_loop.h"
#include "daemon/system_memory.h"

namespace ringtrack {
namespace {

SourceLimiterConfig LimiterConfig(const ServerConfig& c) {
  const MasterKey seed = RandomMasterKey();
  SourceLimiterConfig l = c.limiter;
  l.seed0 = seed.k0;
  l.seed1 = seed.k1;
  return l;
}

SwarmTableConfig TableConfig(const ServerConfig& c, MemoryBudget* budget,
                             SourceLimiter* limiter) {
  const MasterKey seed = RandomMasterKey();
  SwarmTableConfig t = c.table;
  t.seed0 = seed.k0;
  t.seed1 = seed.k1;
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

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The connection-ID key from --connection-key-file, created when missing
// if config.connection_key_create. Creating one where the tracker ran
// before is logged as the loss it is.
absl::StatusOr<MasterKey> LoadKey(const ServerConfig& config, bool ran_before) {
  const std::string& path = config.connection_key_file;
  const bool missing = !PathExists(path);
  if (missing && !config.connection_key_create) {
    return absl::FailedPreconditionError(absl::StrCat(
        "connection key file ", path,
        " does not exist and connection_key_create is off: copy the key "
        "the other instances share there (32 hex digits, mode 0600, owned "
        "by this user), or set --connection-key-create to make a new one"));
  }
  absl::StatusOr<MasterKey> key =
      LoadMasterKeyFile(path, config.connection_key_create);
  if (!key.ok()) return key.status();
  if (missing && ran_before) {
    log::Warning(
        "connection key file %s was missing and a new key was made, though "
        "the state file %s shows this tracker ran before: every client's "
        "connection ID is refused until it connects again, and instances "
        "meant to share the key no longer agree (copy the key from them; "
        "--connection-key-create=false refuses to start without it)",
        path, config.state_file);
  }
  return key;
}

// The I/O events below the protocol: label, stats-line key, counter.
struct IoEvent {
  std::string_view label;
  std::string_view key;
  Counter IoCounters::*counter;
};
constexpr IoEvent kIoEvents[] = {
    {"truncated", "truncated", &IoCounters::truncated},
    {"no_buffers", "no_buffers", &IoCounters::no_buffers},
    {"recv_error", "recv_errors", &IoCounters::recv_errors},
    {"send_error", "send_errors", &IoCounters::send_errors},
    {"sq_full", "sq_full", &IoCounters::sq_full},
    {"cq_overflow", "cq_overflows", &IoCounters::cq_overflows},
};

// Requests summed over workers: [family][type][outcome].
using TrackerTotals =
    std::array<std::array<std::array<uint64_t, kOutcomes>, kRequestKinds>, 2>;

// The stats line's key for requests of one type and outcome, summed over
// IP versions: "announces", "error_replies", "bad_connection_ids",
// "invalid".
std::string RequestStatsKey(RequestKind type, Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return std::string(RequestKindName(type)) + "s";
    case Outcome::kError:
      return "error_replies";
    case Outcome::kBadConnectionId:
      return "bad_connection_ids";
    default:
      return std::string(OutcomeName(outcome));
  }
}

// A network map this large (a libloc database's, not an operator's text
// map) has its build garbage handed back to the system after the swap.
constexpr size_t kTrimAfterMapBytes = size_t{4} << 20;

// The XDP access list mirror's capacity: at least 64 Ki entries (1 MiB of
// kernel buckets per map), at most 16 Mi (256 MiB per map).
constexpr size_t kMinXdpAccessCapacity = size_t{1} << 16;
constexpr size_t kMaxXdpAccessCapacity = size_t{1} << 24;

}  // namespace

Server::Server(const ServerConfig& config, MasterKey key)
    : config_(config),
      ids_(key, clock_.now()),
      budget_(config.max_memory),
      limiter_(LimiterConfig(config)),
      table_(TableConfig(config, &budget_, &limiter_)),
      tracker_(config.tracker, &table_),
      udp_tracker_(&tracker_, &ids_),
      quiescence_(static_cast<size_t>(config.workers) +
                  (config.io == IoMode::kXsk ? 1 : 0)),
      process_start_s_(ProcessStartTimeSeconds()) {}

Server::~Server() { Stop().IgnoreError(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    const ServerConfig& config) {
  // A state file, or the lock file a run with one leaves, shows that this
  // tracker ran before (read before the lock file is created).
  const bool ran_before =
      !config.state_file.empty() && (PathExists(config.state_file) ||
                                     PathExists(config.state_file + ".lock"));
  // Before anything reads or writes the state file: one writer per file.
  std::optional<StateFileLock> state_lock;
  if (!config.state_file.empty()) {
    absl::StatusOr<StateFileLock> lock =
        StateFileLock::Acquire(config.state_file);
    if (!lock.ok()) return lock.status();
    state_lock = std::move(*lock);
  }
  MasterKey key = RandomMasterKey();
  if (!config.connection_key_file.empty()) {
    absl::StatusOr<MasterKey> k = LoadKey(config, ran_before);
    if (!k.ok()) return k.status();
    key = *k;
  }
  std::unique_ptr<Server> s(new Server(config, key));
  s->state_lock_ = std::move(state_lock);

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

  // With HTTP on the UDP addresses, a port 0 the kernel picked for UDP may
  // be taken for TCP: pick again (a few times) rather than fail the start.
  bool any_port_zero = false;
  for (const ListenAddress& want : config.listen) {
    any_port_zero |= want.port() == 0;
  }
  const bool retry_ports = config.http && config.http_listen.empty() &&
                           any_port_zero;
  for (int attempt = 0;; ++attempt) {
    absl::Status bound = s->BindListeners();
    if (bound.ok()) break;
    if (!retry_ports || attempt == 7 ||
        bound.code() != absl::StatusCode::kAlreadyExists) {
      return bound;
    }
    s->sockets_.clear();
    s->bound_.clear();
    s->http_sockets_.clear();
    s->http_bound_.clear();
  }
  s->access_path_ = config.access_list_path;
  s->access_mode_ = config.access_mode;
  if (!config.access_list_path.empty()) {
    // The one load at start (the flags name only the path). Like the
    // network map's, a list that cannot be read or parsed is a failed
    // start (exit 1), not a bad flag: the file, not the setting, needs the
    // fix, and a supervisor's restart reads it again.
    if (absl::Status a = s->ReloadAccessList(); !a.ok()) {
      return absl::Status(a.code(), absl::StrCat("--access_list (reading as ",
                                                 CurrentUserName(), "): ",
                                                 a.message()));
    }
  }
  s->map_path_ = config.network_map_path;
  if (!config.network_map_path.empty()) {
    if (absl::Status m = s->ReloadNetworkMap(); !m.ok()) return m;
  }
  if (!config.state_file.empty()) {
    if (const int n = RemoveStaleStateTempFiles(config.state_file); n > 0) {
      log::Info("removed %d temp files of state saves that did not finish", n);
    }
    if (absl::Status st = s->RestoreState(); !st.ok()) return st;
  }
  if (!config.metrics_host.empty()) {
    Server* raw = s.get();
    absl::StatusOr<std::unique_ptr<MetricsServer>> m = MetricsServer::Create(
        config.metrics_host, config.metrics_port,
        [raw] { return raw->Prometheus(); });
    if (!m.ok()) return m.status();
    s->metrics_ = std::move(*m);
  }
  if (config.io == IoMode::kXsk && config.xdp_interfaces.size() != 1) {
    return absl::InvalidArgumentError("--io xdp needs exactly one --xdp interface");
  }
  if (!config.xdp_interfaces.empty()) {
    if (absl::Status x = s->SetUpXdp(); !x.ok()) {
      if (!config.xdp_optional) return x;
      log::Warning("running without XDP: %s", x.message());
      s->xdp_.reset();
      s->xdp_summary_ = "off";
    }
  }
  if (config.io == IoMode::kXsk) {
    if (!s->xdp_) return absl::FailedPreconditionError("--io xdp needs XDP");
    s->cores_.push_back(std::make_unique<WorkerCore>(
        WorkerShared{&s->udp_tracker_, &s->clock_, &s->stop_, &s->quiescence_},
        s->cores_.size(), RandomMasterKey().k0));
    absl::StatusOr<std::unique_ptr<XskLoop>> x = XskLoop::Create(
        config.xdp_interfaces[0], 0, s->xdp_->xsks_map_fd(), s->cores_[0].get());
    if (!x.ok()) {
      if (x.status().code() == absl::StatusCode::kUnimplemented) {
        // EAFNOSUPPORT: a sandbox's address family filter refused AF_XDP.
        return absl::Status(
            x.status().code(),
            absl::StrCat("--io xdp needs AF_XDP sockets, which this process may "
                         "not create (under systemd: RestrictAddressFamilies= "
                         "must list AF_XDP): ", x.status().message()));
      }
      return ExplainCapabilityError(x.status(), "--io xdp (its AF_XDP socket)",
                                    {CAP_NET_RAW});
    }
    s->xsk_ = std::move(*x);
  }
  return s;
}

absl::Status Server::BindListeners() {
  const ServerConfig& config = config_;
  Server* s = this;
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
  if (config.http) {
    if (absl::Status h = s->SetUpHttp(); !h.ok()) return h;
  }
  return absl::OkStatus();
}

absl::Status Server::SetUpHttp() {
  std::vector<ListenAddress> want = config_.http_listen;
  if (want.empty()) want = bound_;  // the UDP addresses, ports resolved
  http_sockets_.resize(config_.workers);
  for (ListenAddress addr : want) {
    if (addr.port() != 0) {
      // As for UDP: a plain bind first, so another process's SO_REUSEPORT
      // group on the port is an error rather than joined.
      SocketOptions probe = config_.socket;
      probe.reuse_port = false;
      absl::StatusOr<UniqueFd> fd = OpenTcpListener(addr, probe);
      if (!fd.ok()) return fd.status();
    }
    for (int w = 0; w < config_.workers; ++w) {
      absl::StatusOr<UniqueFd> fd = OpenTcpListener(addr, config_.socket);
      if (!fd.ok()) return fd.status();
      if (w == 0) {
        absl::StatusOr<ListenAddress> b = BoundAddress(fd->get());
        if (!b.ok()) return b.status();
        addr = *b;
        http_bound_.push_back(addr);
      }
      http_sockets_[w].push_back(std::move(*fd));
    }
  }
  std::vector<http::Cidr> proxies;
  for (const std::string& text : config_.http_trusted_proxies) {
    absl::StatusOr<http::Cidr> c = http::Cidr::Parse(text);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--http-trusted-proxy ", text, ": ", c.status().message()));
    }
    proxies.push_back(*c);
  }
  HttpConfig hc;
  hc.trusted_proxies = http::TrustedProxies(std::move(proxies));
  http_tracker_ = std::make_unique<HttpTracker>(&tracker_, std::move(hc));
  http_admission_ = std::make_unique<HttpAdmission>(
      config_.http_max_connections, config_.http_max_connections_per_source);
  http_shared_ = std::make_unique<HttpShared>();
  http_shared_->responder = config_.http_responder;
  http_shared_->admission = http_admission_.get();
  http_shared_->head_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(config_.http_head_timeout));
  http_shared_->idle_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(config_.http_idle_timeout));
  http_shared_->send_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(config_.http_send_timeout));
  http_shared_->max_requests = config_.http_max_requests;
  return absl::OkStatus();
}

absl::Status Server::SetUpXdp() {
  XdpOptions options;
  options.connect_in_kernel = config_.xdp_connect;
  options.rate_limit_pps = config_.xdp_rate_limit_pps;
  options.xsk_redirect = config_.io == IoMode::kXsk;
  // Room for the list in force and then some, so reloads that grow it
  // stay mirrored (a list past this is enforced in userspace only).
  const AccessList* list = tracker_.access_list();
  options.access_capacity = static_cast<uint32_t>(std::min<size_t>(
      std::max<size_t>(kMinXdpAccessCapacity, 2 * (list ? list->size() : 0)),
      kMaxXdpAccessCapacity));
  absl::StatusOr<std::unique_ptr<XdpProgram>> prog = XdpProgram::Load(options);
  if (!prog.ok()) {
    // CAP_PERFMON: the verifier refuses the program's packet pointer
    // arithmetic without it ("pointer arithmetic ... prohibited for !root").
    return ExplainCapabilityError(prog.status(), "--xdp",
                                  {CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON});
  }
  xdp_ = std::move(*prog);
  MirrorAccessList();
  if (absl::StatusOr<bool> d = xdp_->SetDestinations(XdpDestinations(bound_));
      !d.ok()) {
    return d.status();
  }
  if (absl::Status k = xdp_->UpdateKeys(ids_, clock_.now()); !k.ok()) return k;
  std::vector<std::string> parts;
  for (const std::string& ifname : config_.xdp_interfaces) {
    absl::StatusOr<XdpMode> mode = xdp_->Attach(ifname, config_.xdp_mode);
    if (!mode.ok()) {
      return ExplainCapabilityError(mode.status(), "--xdp",
                                    {CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON});
    }
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

absl::Status Server::ApplyLive(const ServerConfig& next) {
  tracker_.SetConfig(next.tracker);
  table_.SetLimits(next.table.max_torrents, next.table.max_peers_per_source,
                   next.table.max_peers_per_swarm);
  limiter_.SetRate(next.limiter.rate_per_s, next.limiter.burst);
  table_.SetPeerTimeout(next.table.peer_timeout_s);
  if (http_shared_) {
    http_admission_->SetLimits(next.http_max_connections,
                               next.http_max_connections_per_source);
    http_shared_->head_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(next.http_head_timeout));
    http_shared_->idle_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(next.http_idle_timeout));
    http_shared_->send_timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(next.http_send_timeout));
    http_shared_->max_requests = next.http_max_requests;
  }
  if (xdp_) {
    // Validated by the flag parser; a refusal here keeps the old rate.
    if (absl::Status r = xdp_->SetRateLimit(next.xdp_rate_limit_pps, 0);
        !r.ok()) {
      log::Error("XDP rate limit unchanged: %s", r.message());
    }
  }
  const std::string old_path = access_path_;
  const AccessList::Mode old_mode = access_mode_;
  access_path_ = next.access_list_path;
  access_mode_ = next.access_mode;
  if (access_path_.empty()) {
    (void)SwapAccessList(nullptr);
    MirrorAccessList();
    return absl::OkStatus();
  }
  absl::Status s = ReloadAccessList();
  if (!s.ok()) {  // keep serving with the list that was in force
    access_path_ = old_path;
    access_mode_ = old_mode;
  }
  return s;
}

absl::Status Server::ReloadAccessList() {
  if (access_path_.empty()) {
    return absl::FailedPreconditionError("no --access-list configured");
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<const AccessList>> list =
      AccessList::Load(access_path_, access_mode_);
  if (!list.ok()) return list.status();
  const size_t n = (*list)->size();
  const size_t bytes = (*list)->MemoryBytes();
  if (bytes > budget_.limit() / 2) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "access list %s: %d info hashes take %d MiB, more than half of "
        "--max-memory (%d MiB; a reload holds the old and the new list at "
        "once): raise --max-memory or shorten the list",
        access_path_, n, bytes >> 20, budget_.limit() >> 20));
  }
  const absl::Duration grace = SwapAccessList(std::move(*list));
  log::Info(
      "access list %s: %d info hashes (%s mode), %d KiB, loaded in %d ms; "
      "the old list freed after a grace period of %d us",
      access_path_, n,
      access_mode_ == AccessList::Mode::kAllow ? "allow" : "deny", bytes >> 10,
      absl::ToInt64Milliseconds(absl::Now() - start),
      absl::ToInt64Microseconds(grace));
  MirrorAccessList();
  return absl::OkStatus();
}

absl::Duration Server::SwapAccessList(std::unique_ptr<const AccessList> list) {
  // Forced: an operator's list (a torrent banned at a full tracker, say)
  // takes effect even at the budget; the table then refuses newcomers
  // until it has room again.
  const size_t bytes = list ? list->MemoryBytes() : 0;
  budget_.TryCharge(bytes, /*force=*/true);
  const size_t hashes = list ? list->size() : 0;
  const bool loaded = list != nullptr;
  std::unique_ptr<const AccessList> old = tracker_.SetAccessList(std::move(list));
  access_hashes_.store(hashes, std::memory_order_relaxed);
  if (loaded) access_loads_.fetch_add(1, std::memory_order_relaxed);
  // A worker may still be inside a batch that loaded the old pointer: wait
  // for that batch to end. The XDP mirror (this thread) reads only the new
  // list.
  const absl::Duration grace = AwaitGracePeriod();
  old.reset();
  budget_.Release(access_bytes_.exchange(bytes, std::memory_order_relaxed));
  return grace;
}

absl::Duration Server::AwaitGracePeriod() {
  // An idle worker is offline and is not waited for.
  const absl::Time start = absl::Now();
  const uint64_t grace = quiescence_.StartGracePeriod();
  absl::Duration nap = absl::Microseconds(20);
  while (!quiescence_.GracePeriodOver(grace)) {
    absl::SleepFor(nap);
    nap = std::min(2 * nap, absl::Milliseconds(1));
  }
  return absl::Now() - start;
}

absl::Status Server::ApplyNetworkMap(const ServerConfig& next) {
  const std::string old_path = map_path_;
  map_path_ = next.network_map_path;
  if (map_path_.empty()) {
    if (!old_path.empty()) {
      (void)SwapNetworkMap(nullptr);
      log::Info("network map dropped: every reply is random again");
    }
    return absl::OkStatus();
  }
  absl::Status s = ReloadNetworkMap();
  if (!s.ok()) map_path_ = old_path;  // keep serving with the map in force
  return s;
}

absl::Status Server::ReloadNetworkMap() {
  if (map_path_.empty()) {
    return absl::FailedPreconditionError("no --network-map configured");
  }
  const absl::Time start = absl::Now();
  // Told apart by content, so one flag takes either: a libloc database
  // starts with its magic, anything else is read as the text format.
  const bool libloc = IsLibLocDatabase(map_path_);
  absl::StatusOr<std::unique_ptr<const NetworkMap>> map =
      libloc ? LoadLibLocNetworkMap(map_path_) : NetworkMap::Load(map_path_);
  if (!map.ok()) return map.status();
  const absl::Duration load = absl::Now() - start;
  const NetworkMap& m = **map;
  const size_t bytes = m.MemoryBytes();
  if (bytes > budget_.limit() / 2) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "network map %s: %d networks take %d MiB, more than half of "
        "--max-memory (%d MiB; a reload holds the old and the new map at "
        "once): raise --max-memory or use a smaller map",
        map_path_, m.networks(), bytes >> 20, budget_.limit() >> 20));
  }
  const size_t networks = m.networks();
  const size_t v4 = m.ranges_v4(), v6 = m.ranges_v6();
  map_load_seconds_.store(absl::ToDoubleSeconds(load), std::memory_order_relaxed);
  const absl::Duration grace = SwapNetworkMap(std::move(*map));
  // Building a large map allocates several times its final size (libloc's
  // networks, the prefixes before flattening: 33 MiB for Debian's
  // database's 9.7 MiB map), and glibc keeps those freed pages in the heap
  // unless told to hand them back. Only then: the trim walks every arena
  // under its lock, which a worker growing a peer block would wait for.
  if (bytes > kTrimAfterMapBytes) malloc_trim(0);
  log::Info(
      "network map %s: %d networks (%s), %d IPv4 and %d IPv6 ranges, %d KiB, "
      "loaded in %d ms; the old map freed after a grace period of %d us",
      map_path_, networks, libloc ? "libloc database, one per AS" : "text map",
      v4, v6, bytes >> 10, absl::ToInt64Milliseconds(load),
      absl::ToInt64Microseconds(grace));
  return absl::OkStatus();
}

absl::Duration Server::SwapNetworkMap(std::unique_ptr<const NetworkMap> map) {
  // Forced, as the access list is: the operator's map takes effect even at
  // the budget (the table then refuses newcomers until it has room).
  const size_t bytes = map ? map->MemoryBytes() : 0;
  budget_.TryCharge(bytes, /*force=*/true);
  map_networks_.store(map ? map->networks() : 0, std::memory_order_relaxed);
  map_ranges_v4_.store(map ? map->ranges_v4() : 0, std::memory_order_relaxed);
  map_ranges_v6_.store(map ? map->ranges_v6() : 0, std::memory_order_relaxed);
  if (map) map_loads_.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<const NetworkMap> old = tracker_.SetNetworkMap(std::move(map));
  const absl::Duration grace = AwaitGracePeriod();
  old.reset();
  budget_.Release(map_bytes_.exchange(bytes, std::memory_order_relaxed));
  return grace;
}

void Server::MirrorAccessList() {
  if (!xdp_) return;
  const absl::Time start = absl::Now();
  const AccessList* list = tracker_.access_list();
  if (absl::Status s = xdp_->SetAccessList(list); !s.ok()) {
    log::Warning("XDP access list mirror off: %s", s.message());
    return;
  }
  if (list != nullptr) {
    log::Info("XDP access list mirror: %d info hashes swapped in in %d ms",
              xdp_->access_list_size(),
              absl::ToInt64Milliseconds(absl::Now() - start));
  }
}

void Server::SetWatchdog(std::function<void()> ping, absl::Duration every) {
  watchdog_ping_ = std::move(ping);
  watchdog_every_ = every;
}

absl::Status Server::RestoreState() {
  const std::string& path = config_.state_file;
  const uint32_t now = clock_.now();
  absl::StatusOr<StateLoadResult> r =
      LoadState(table_, path, now, tracker_.access_list(),
                MaxStateFileBytes(config_.max_memory));
  if (r.ok()) {
    log::Info(
        "state file %s (saved %ds ago): restored %d swarms and %d peers in "
        "%d ms; %d peers had expired, %d were refused (budget or caps), %d "
        "swarms are not allowed by the access list",
        path, static_cast<int64_t>(now) - static_cast<int64_t>(r->file.saved_at),
        r->restored.swarms, r->restored.peers,
        absl::ToInt64Milliseconds(r->took), r->restored.expired,
        r->restored.refused, r->not_allowed);
    state_file_id_ = IdentityOf(path);
    if (r->restored.refused > 0) KeepLossyStateFile(*r);
    return absl::OkStatus();
  }
  if (absl::IsNotFound(r.status())) {
    log::Info("state file %s does not exist yet; starting empty", path);
    return absl::OkStatus();
  }
  if (config_.strict_state) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state file refused (--strict-state): ", r.status().message(),
        "; the file is left in place"));
  }
  if (!absl::IsDataLoss(r.status())) {  // not read: nothing is known
    HoldStateFile(r.status().message(), /*restored_nothing=*/true);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> aside = SetStateFileAside(path, now);
  if (!aside.ok()) {
    HoldStateFile(absl::StrCat(
        r.status().message(),
        ", and it could not be moved aside: ", aside.status().message()),
        /*restored_nothing=*/true);
    return absl::OkStatus();
  }
  log::Error("state file refused: %s; kept aside as %s; starting empty",
             r.status().message(), *aside);
  return absl::OkStatus();
}

void Server::KeepLossyStateFile(const StateLoadResult& r) {
  state_restore_refused_ = r.restored.refused;
  absl::StatusOr<std::string> previous =
      KeepStateFileAsPrevious(config_.state_file);
  if (!previous.ok()) {
    HoldStateFile(absl::StrCat(
        r.restored.refused, " of its ", r.file.peers,
        " peers were refused for the memory budget or caps, and it could "
        "not be kept as ",
        config_.state_file, ".previous: ", previous.status().message()),
        /*restored_nothing=*/false);
    return;
  }
  log::Warning(
      "state file %s: %d of its %d peers were refused for the memory budget "
      "or caps (--max-memory, --max-peers-per-swarm, "
      "--max-peers-per-source, --max-torrents) and are not served; the whole "
      "snapshot is kept as %s, which saves do not touch (restore it with "
      "higher limits by moving it back to %s)",
      config_.state_file, r.restored.refused, r.file.peers, *previous,
      config_.state_file);
}

void Server::HoldStateFile(absl::string_view why, bool restored_nothing) {
  state_held_why_ = std::string(why);
  state_held_.store(true, std::memory_order_relaxed);
  log::Error(
      "state file %s %s: %s.%s The file stays where it is and no save "
      "replaces it until it is moved away (saving then resumes) or fixed "
      "and ringtrackd restarted",
      config_.state_file, restored_nothing ? "not restored" : "held", why,
      restored_nothing ? " Starting empty." : "");
}

bool Server::MayReplaceStateFile() {
  const std::optional<FileIdentity> there = IdentityOf(config_.state_file);
  if (!there.has_value()) {
    if (state_held_.load(std::memory_order_relaxed)) {
      state_held_.store(false, std::memory_order_relaxed);
      log::Info("state file %s was moved away; saving resumes",
                config_.state_file);
    }
    return true;
  }
  if (state_held_.load(std::memory_order_relaxed)) return false;
  if (state_file_id_ == there) return true;
  // Not the snapshot this daemon restored or wrote: an operator put a file
  // back (or another program wrote one). It is theirs until they act.
  HoldStateFile(
      "another file was put at the state path while ringtrackd ran (not the "
      "snapshot it restored or last saved); it may be one an operator put "
      "back to restore at the next start",
      /*restored_nothing=*/false);
  return false;
}

absl::Status Server::SaveStateNow(const char* why) {
  if (!MayReplaceStateFile()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not saved: ", config_.state_file, " is held (", state_held_why_, ")"));
  }
  absl::StatusOr<StateSaveResult> r =
      SaveState(table_, config_.state_file, clock_.now());
  if (!r.ok()) {
    state_saves_failed_.fetch_add(1, std::memory_order_relaxed);
    log::Error("state save (%s) failed: %s; %s keeps the last snapshot saved",
               why, r.status().message(), config_.state_file);
    return r.status();
  }
  state_saves_ok_.fetch_add(1, std::memory_order_relaxed);
  state_last_save_unix_.store(absl::ToUnixSeconds(absl::Now()),
                              std::memory_order_relaxed);
  state_last_save_seconds_.store(absl::ToDoubleSeconds(r->took),
                                 std::memory_order_relaxed);
  state_last_peers_.store(r->peers, std::memory_order_relaxed);
  state_file_id_ = r->file;
  if (!r->directory_sync_error.empty()) {
    log::Warning(
        "state saved (%s) to %s, but its directory could not be synced (%s): "
        "a power cut soon after may bring the previous snapshot back",
        why, config_.state_file, r->directory_sync_error);
  }
  log::Info("state saved (%s) to %s: %d swarms, %d peers, %d bytes in %d ms",
            why, config_.state_file, r->swarms, r->peers, r->bytes,
            absl::ToInt64Milliseconds(r->took));
  return absl::OkStatus();
}

void Server::RunStateSaver() {
  absl::Time next = absl::Now() + config_.state_interval;
  while (!stop_.load()) {
    absl::SleepFor(absl::Milliseconds(100));
    if (absl::Now() < next) continue;
    // Errors are logged and counted; a held file was logged at start.
    SaveStateNow("periodic").IgnoreError();
    next = absl::Now() + config_.state_interval;
  }
}

void Server::Start() {
  started_ = true;
  if (xsk_) threads_.emplace_back([this] { xsk_->Run(); });
  if (!config_.state_file.empty() &&
      config_.state_interval > absl::ZeroDuration()) {
    threads_.emplace_back([this] { RunStateSaver(); });
  }
  const size_t socket_cores_from = cores_.size();
  for (int w = 0; w < config_.workers; ++w) {
    cores_.push_back(std::make_unique<WorkerCore>(
        WorkerShared{&udp_tracker_, &clock_, &stop_, &quiescence_,
                     http_shared_.get(), http_tracker_.get()},
        cores_.size(), RandomMasterKey().k0));
  }
  threads_.emplace_back([this] { RunHousekeeping(); });
  if (metrics_) metrics_->Start();
  for (int w = 0; w < config_.workers; ++w) {
    threads_.emplace_back([this, w, socket_cores_from] {
      RunWorker(static_cast<size_t>(w), cores_[socket_cores_from + w].get());
    });
  }
}

absl::Status Server::Stop() {
  if (metrics_) metrics_->Stop();
  stop_.store(true);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // After the workers stopped: the snapshot holds every last announce.
  if (started_ && !final_saved_ && !config_.state_file.empty()) {
    final_saved_ = true;
    return SaveStateNow("at stop");
  }
  return absl::OkStatus();
}

void Server::RunWorker(size_t index, WorkerCore* core) {
  std::vector<int> fds;
  for (const UniqueFd& fd : sockets_[index]) fds.push_back(fd.get());
  std::vector<int> http_fds;
  if (index < http_sockets_.size()) {
    for (const UniqueFd& fd : http_sockets_[index]) http_fds.push_back(fd.get());
  }
  if (io_path_ == IoPath::kUring) {
    absl::StatusOr<std::unique_ptr<UringLoop>> loop =
        UringLoop::Create(fds, http_fds, config_.uring, core);
    if (loop.ok()) {
      (*loop)->Run();
      return;
    }
    log::Warning("worker %d: io_uring setup failed (%s); using recvmmsg", index,
                 loop.status().message());
  }
  RunMmsgLoop(fds, http_fds, core);
}

void Server::RunHousekeeping() {
  const int64_t ticks_per_pass = std::max<int64_t>(
      1, absl::ToInt64Milliseconds(config_.sweep_period) / 100);
  uint32_t last_refresh = 0;
  StatsInterval interval;
  absl::Time last_stats = absl::Now();
  absl::Time next_stats = last_stats + config_.stats_interval;
  absl::Time next_ping = absl::Now();
  while (!stop_.load()) {
    if (watchdog_ping_ && absl::Now() >= next_ping) {
      watchdog_ping_();
      next_ping = absl::Now() + watchdog_every_;
    }
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
    CountSocketDrops();
    // The table grows, so the share of it swept per tick is recomputed.
    table_.Sweep(now, std::max<size_t>(64, table_.capacity() / ticks_per_pass));
    if (config_.stats_interval > absl::ZeroDuration() &&
        absl::Now() >= next_stats) {
      const absl::Time now_t = absl::Now();
      log::Info("stats %s", interval.Line(Samples(), now_t - last_stats));
      last_stats = now_t;
      next_stats += config_.stats_interval;
    }
  }
}

void Server::CountSocketDrops() {
  size_t i = 0;
  uint64_t added = 0;
  for (const auto& per_worker : sockets_) {
    for (const UniqueFd& fd : per_worker) {
      if (i == socket_drops_seen_.size()) socket_drops_seen_.push_back(0);
      const absl::StatusOr<uint32_t> d = SocketDrops(fd.get());
      if (d.ok()) {
        // Modulo 2^32: the kernel's count wraps; read every 100 ms, it
        // cannot wrap twice between reads.
        added += static_cast<uint32_t>(*d - socket_drops_seen_[i]);
        socket_drops_seen_[i] = *d;
      }
      ++i;
    }
  }
  if (added > 0) socket_drops_.fetch_add(added, std::memory_order_relaxed);
}

std::vector<MetricSample> Server::Samples() const {
  using M = MetricId;
  // Per-worker counters, summed.
  TrackerTotals req{};
  uint64_t invalid[static_cast<size_t>(protocol::ParseError::kCount)] = {};
  uint64_t rx = 0, tx = 0, bytes_in = 0, bytes_out = 0, xsk_frames = 0,
           not_allowed = 0, peers_local = 0, peers_remote = 0, outside_map = 0;
  uint64_t io[std::size(kIoEvents)] = {};
  for (const auto& c : cores_) {
    // The tracker's counts of both front ends (UDP, HTTP).
    for (const TrackerStats* ts : {&c->stats.tracker, &c->http_stats.tracker}) {
      not_allowed +=
          ts->refused[static_cast<size_t>(Refusal::kNotAllowed)].value();
      peers_local += ts->peers_local.value();
      peers_remote += ts->peers_remote.value();
      outside_map += ts->outside_map.value();
    }
    for (int f = 0; f < 2; ++f) {
      for (size_t t = 0; t < kRequestKinds; ++t) {
        for (size_t o = 0; o < kOutcomes; ++o) {
          req[f][t][o] += c->stats.requests[f][t][o].value();
        }
      }
    }
    for (size_t i = 0; i < std::size(invalid); ++i) {
      invalid[i] += c->stats.invalid[i].value();
    }
    bytes_in += c->stats.bytes_in.value();
    bytes_out += c->stats.bytes_out.value();
    rx += c->io.received.value();
    tx += c->io.sent.value();
    for (size_t i = 0; i < std::size(kIoEvents); ++i) {
      io[i] += (c->io.*kIoEvents[i].counter).value();
    }
    xsk_frames += c->io.xsk_frames.value();
  }
  const SwarmTableStats t = table_.stats();

  MetricSamples v;
  v.Add(M::kDatagramsReceived, rx);
  v.Add(M::kRepliesSent, tx);
  for (int f = 0; f < 2; ++f) {
    for (size_t ti = 0; ti < kRequestKinds; ++ti) {
      for (size_t oi = 0; oi < kOutcomes; ++oi) {
        const auto type = static_cast<RequestKind>(ti);
        const auto outcome = static_cast<Outcome>(oi);
        // Only a datagram the codec refused has no type; a connect needs
        // no connection ID and is always answered.
        if ((type == RequestKind::kUnknown) != (outcome == Outcome::kInvalid) ||
            (type == RequestKind::kConnect && outcome != Outcome::kOk)) {
          continue;
        }
        v.Add(M::kRequests,
              {"udp", RequestKindName(type), OutcomeName(outcome),
               f == 0 ? "4" : "6"},
              RequestStatsKey(type, outcome), req[f][ti][oi]);
      }
    }
  }
  uint64_t bad_ids = 0;
  for (int f = 0; f < 2; ++f) {
    for (size_t ti = 0; ti < kRequestKinds; ++ti) {
      bad_ids += req[f][ti][static_cast<size_t>(Outcome::kBadConnectionId)];
    }
  }
  // (The requests above carry the stats line's bad_connection_ids.)
  v.Add(M::kDropped, {"bad_connection_id"}, "", bad_ids);
  for (size_t i = 1; i < std::size(invalid); ++i) {
    const auto e = static_cast<protocol::ParseError>(i);
    if (protocol::IsAnswerable(e)) continue;  // answered: not a drop
    const std::string_view reason = protocol::ParseErrorName(e);
    v.Add(M::kDropped, {reason}, "invalid_" + std::string(reason), invalid[i]);
  }
  v.Add(M::kReceivedBytes, bytes_in);
  v.Add(M::kSentBytes, bytes_out);

  v.Add(M::kRefused, {"torrent_memory"}, "refused_torrent_memory",
        t.refused.torrent_memory);
  v.Add(M::kRefused, {"torrent_rate"}, "refused_torrent_rate",
        t.refused.torrent_rate);
  v.Add(M::kRefused, {"peer_memory"}, "refused_peer_memory",
        t.refused.peer_memory);
  v.Add(M::kRefused, {"not_allowed"}, "refused_not_allowed", not_allowed);
  v.Add(M::kUnstoredPeers, {"source_cap"}, "unstored_peer_source_cap",
        t.refused.peer_source_cap);
  v.Add(M::kUnstoredPeers, {"swarm_cap"}, "unstored_peer_swarm_cap",
        t.refused.peer_swarm_cap);
  v.Add(M::kUnstoredPeers, {"memory"}, "unstored_peer_memory",
        t.refused.peer_memory_unstored);
  v.Add(M::kUnstoredPeers, {"prefix_cap"}, "unstored_peer_prefix_cap",
        t.refused.peer_prefix_cap);
  v.Add(M::kEvictedPeers, t.evicted_stale);

  // (The AF_XDP socket's counts are 64-bit: read as they are.)
  v.Add(M::kSocketDrops, socket_drops_.load(std::memory_order_relaxed) +
                             (xsk_ ? xsk_->KernelDrops() : 0));
  for (size_t i = 0; i < std::size(kIoEvents); ++i) {
    v.Add(M::kIoEvents, {kIoEvents[i].label}, std::string(kIoEvents[i].key),
          io[i]);
  }
  if (xsk_) v.Add(M::kXskFrames, xsk_frames);

  v.Add(M::kTorrents, t.torrents);
  v.Add(M::kPeers, {"4"}, "peers_v4", t.peers_v4);
  v.Add(M::kPeers, {"6"}, "peers_v6", t.peers_v6);
  v.Add(M::kSeeders, {"4"}, "seeders_v4", t.seeders_v4);
  v.Add(M::kSeeders, {"6"}, "seeders_v6", t.seeders - t.seeders_v4);
  v.Add(M::kDownloads, t.downloads);

  v.Add(M::kMemoryBytes, table_.MemoryBytes());
  v.Add(M::kMemoryBudgetBytes, budget_.limit());
  v.Add(M::kResidentBytes, ResidentBytes());
  v.Add(M::kTableSlots, table_.capacity());
  v.Add(M::kTableMaxProbe, table_.max_probe());
  v.Add(M::kTableTombstones, table_.tombstones());

  v.Add(M::kAccessListHashes, access_hashes_.load(std::memory_order_relaxed));
  v.Add(M::kAccessListBytes, access_bytes_.load(std::memory_order_relaxed));
  v.Add(M::kAccessListLoads, access_loads_.load(std::memory_order_relaxed));

  // Locality: reported once a network map was loaded (a reload that drops
  // it keeps the counters, with an empty map).
  if (const uint64_t loads = map_loads_.load(std::memory_order_relaxed); loads > 0) {
    v.Add(M::kLocalityPeers, {"local"}, "locality_peers_local", peers_local);
    v.Add(M::kLocalityPeers, {"remote"}, "locality_peers_remote", peers_remote);
    v.Add(M::kLocalityOutsideMap, outside_map);
    v.Add(M::kNetworkMapNetworks, map_networks_.load(std::memory_order_relaxed));
    v.Add(M::kNetworkMapRanges, {"4"}, "network_map_ranges_v4",
          map_ranges_v4_.load(std::memory_order_relaxed));
    v.Add(M::kNetworkMapRanges, {"6"}, "network_map_ranges_v6",
          map_ranges_v6_.load(std::memory_order_relaxed));
    v.Add(M::kNetworkMapBytes, map_bytes_.load(std::memory_order_relaxed));
    v.Add(M::kNetworkMapLoadSeconds,
          map_load_seconds_.load(std::memory_order_relaxed));
    v.Add(M::kNetworkMapLoads, loads);
  }

  v.Add(M::kConfigReloadSuccess,
        reload_ok_.load(std::memory_order_relaxed) ? 1 : 0);
  v.Add(M::kConfigReloadTime, reload_unix_.load(std::memory_order_relaxed));

  if (xdp_) {
    v.Add(M::kXdpAttached, xdp_->AttachedInterfaces());
    const auto counters = xdp_->Counters();
    for (int i = 0; i < RT_XDP_COUNTER_MAX; ++i) {
      const std::string name(XdpCounterName(i));
      const size_t us = name.find('_');
      const std::string action = name.substr(0, us);
      const std::string reason =
          us == std::string::npos ? "valid" : name.substr(us + 1);
      v.Add(M::kXdpPackets, {action, reason}, "xdp_" + name, counters[i]);
    }
  }
  if (!config_.state_file.empty()) {
    v.Add(M::kStateSaves, {"ok"}, "state_saves",
          state_saves_ok_.load(std::memory_order_relaxed));
    v.Add(M::kStateSaves, {"error"}, "state_save_failures",
          state_saves_failed_.load(std::memory_order_relaxed));
    if (config_.state_interval > absl::ZeroDuration()) {
      v.Add(M::kStateInterval, absl::ToDoubleSeconds(config_.state_interval));
    }
    v.Add(M::kStateLastSaveTime,
          state_last_save_unix_.load(std::memory_order_relaxed));
    v.Add(M::kStateLastSaveDuration,
          state_last_save_seconds_.load(std::memory_order_relaxed));
    v.Add(M::kStateSavedPeers, state_last_peers_.load(std::memory_order_relaxed));
    v.Add(M::kStateFileHeld, state_held_.load(std::memory_order_relaxed) ? 1 : 0);
    v.Add(M::kStateRestoreRefused, state_restore_refused_);
  }
  AddHttpSamples(&v);
  v.Add(M::kProcessStartTime, process_start_s_);
  v.Add(M::kProcessCpu, ProcessCpuSeconds());
  v.Add(M::kProcessOpenFds, ProcessOpenFds());
  v.Add(M::kBuildInfo, {RINGTRACK_VERSION}, "", 1);
  return v.Take();
}

void Server::RecordReload(bool ok) {
  reload_ok_.store(ok, std::memory_order_relaxed);
  if (ok) {
    reload_unix_.store(absl::ToUnixSeconds(absl::Now()),
                       std::memory_order_relaxed);
  }
}

std::string Server::StatsLine() const { return FormatTotals(Samples()); }

void Server::AddHttpSamples(MetricSamples* v) const {
  using M = MetricId;
  if (!http_shared_) return;
  constexpr size_t kReasons = static_cast<size_t>(HttpCloseReason::kCount);
  constexpr size_t kHttpOutcomes = static_cast<size_t>(HttpOutcome::kCount);
  constexpr size_t kQueryErrors = static_cast<size_t>(http::QueryError::kCount);
  uint64_t accepted = 0, refused_total = 0, refused_source = 0,
           accept_errors = 0, bytes_in = 0, bytes_out = 0, proxied = 0;
  int64_t open = 0;
  uint64_t responses[3] = {};
  uint64_t closes[kReasons] = {};
  uint64_t outcomes[kHttpOutcomes] = {};
  uint64_t bad_query[kQueryErrors] = {};
  uint64_t req[2][kRequestKinds][kOutcomes] = {};
  for (const auto& c : cores_) {
    const HttpCounters& h = c->http;
    accepted += h.accepted.value();
    refused_total += h.refused_total.value();
    refused_source += h.refused_source.value();
    accept_errors += h.accept_errors.value();
    open += h.open.load(std::memory_order_relaxed);
    for (size_t i = 0; i < 3; ++i) responses[i] += h.responses[i].value();
    for (size_t i = 0; i < kReasons; ++i) closes[i] += h.closes[i].value();
    const HttpStats& hs = c->http_stats;
    bytes_in += hs.bytes_in.value();
    bytes_out += hs.bytes_out.value();
    proxied += hs.proxied.value();
    for (size_t o = 0; o < kHttpOutcomes; ++o) outcomes[o] += hs.outcomes[o].value();
    for (size_t q = 0; q < kQueryErrors; ++q) bad_query[q] += hs.bad_query[q].value();
    for (int f = 0; f < 2; ++f) {
      for (size_t t = 0; t < kRequestKinds; ++t) {
        for (size_t o = 0; o < kOutcomes; ++o) {
          req[f][t][o] += hs.requests[f][t][o].value();
        }
      }
    }
  }
  // Requests under the labels UDP's use: announce and scrape answered (ok)
  // or with a failure reason (error); a 4xx/5xx is unknown/invalid.
  for (int f = 0; f < 2; ++f) {
    for (size_t ti = 0; ti < kRequestKinds; ++ti) {
      for (size_t oi = 0; oi < kOutcomes; ++oi) {
        const auto type = static_cast<RequestKind>(ti);
        const auto outcome = static_cast<Outcome>(oi);
        const bool shown =
            type == RequestKind::kUnknown
                ? outcome == Outcome::kInvalid
                : (type != RequestKind::kConnect &&
                   (outcome == Outcome::kOk || outcome == Outcome::kError));
        if (!shown) continue;
        v->Add(M::kRequests,
               {"http", RequestKindName(type), OutcomeName(outcome),
                f == 0 ? "4" : "6"},
               "http_" + RequestStatsKey(type, outcome), req[f][ti][oi]);
      }
    }
  }
  v->Add(M::kHttpConnections, static_cast<double>(open));
  v->Add(M::kHttpConnectionsMax, http_admission_->max_total());
  v->Add(M::kHttpAccepts, {"accepted"}, "http_accepted", accepted);
  v->Add(M::kHttpAccepts, {"total_cap"}, "http_refused_total_cap", refused_total);
  v->Add(M::kHttpAccepts, {"source_cap"}, "http_refused_source_cap",
         refused_source);
  v->Add(M::kHttpAccepts, {"error"}, "http_accept_errors", accept_errors);
  const char* kClasses[3] = {"2xx", "4xx", "other"};
  for (size_t i = 0; i < 3; ++i) {
    v->Add(M::kHttpResponses, {kClasses[i]},
           absl::StrCat("http_responses_", kClasses[i]), responses[i]);
  }
  for (size_t o = 0; o < kHttpOutcomes; ++o) {
    const std::string_view name = HttpOutcomeName(static_cast<HttpOutcome>(o));
    v->Add(M::kHttpOutcomes, {name}, "http_" + std::string(name), outcomes[o]);
  }
  for (size_t i = 0; i < kReasons; ++i) {
    const char* why = HttpCloseReasonName(static_cast<HttpCloseReason>(i));
    v->Add(M::kHttpCloses, {why}, absl::StrCat("http_closed_", why), closes[i]);
  }
  for (size_t q = 1; q < kQueryErrors; ++q) {
    const std::string_view name =
        http::QueryErrorName(static_cast<http::QueryError>(q));
    v->Add(M::kHttpBadQueries, {name}, "http_bad_query_" + std::string(name),
           bad_query[q]);
  }
  v->Add(M::kHttpProxied, proxied);
  v->Add(M::kHttpReceivedBytes, bytes_in);
  v->Add(M::kHttpSentBytes, bytes_out);
}

std::string Server::Prometheus() const { return FormatPrometheus(Samples()); }

}  // namespace ringtrack
