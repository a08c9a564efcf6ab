// ringtrackd: the ringtrack BitTorrent UDP tracker daemon (BEP 15 / BEP 41).
#include <malloc.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/cli/command_line.h"
#include "core/http/client_address.h"
#include "daemon/config_file.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/privileges.h"
#include "daemon/server.h"
#include "daemon/state_file.h"
#include "daemon/system_memory.h"

ABSL_FLAG(std::vector<std::string>, listen,
          std::vector<std::string>({"0.0.0.0:6969", "[::]:6969"}),
          "Address to serve, HOST:PORT or [V6]:PORT; repeatable (or "
          "comma-separated). IPv6 sockets are V6ONLY.");
ABSL_FLAG(int, workers, 0,
          "Worker threads, each with its own socket per address and its own "
          "ring; 0 = one per CPU core.");
ABSL_FLAG(std::string, io, "auto",
          "I/O path: uring, mmsg (recvmmsg/sendmmsg), auto (uring where "
          "the kernel allows it), or xdp: an AF_XDP socket on queue 0 of "
          "the one --xdp interface serves what the XDP program redirects "
          "(other queues and anything passed up go to the socket workers).");
ABSL_FLAG(int, interval, 1800, "Announce interval told to clients, seconds.");
ABSL_FLAG(int, peer_timeout, 0,
          "Seconds after which a silent peer is dropped; 0 = 2 × --interval. "
          "At most 86400.");
ABSL_FLAG(int, default_numwant, 50,
          "Peers returned when a client asks for the default (-1).");
ABSL_FLAG(int, max_numwant, 200,
          "Most IPv4 peers in one reply (IPv6 replies are capped at 66 so a "
          "reply stays within ~1.2 KB).");
ABSL_FLAG(std::string, max_memory, "",
          "Memory budget for the swarm table and all peer sets, e.g. 512M or "
          "4G. At the budget new torrents and new peers get the error "
          "'tracker is full'; stored peers keep working. Default: half of "
          "physical memory, or of the cgroup's limit when that is lower.");
ABSL_FLAG(int64_t, max_torrents, 0,
          "Optional cap on torrents, below what the memory budget allows; "
          "0 = no cap (the budget decides).");
ABSL_FLAG(int, max_peers_per_source, 8,
          "Entries one source (an IPv4 address or an IPv6 /64) may hold in "
          "one swarm; more are answered but not stored.");
ABSL_FLAG(int, max_peers_per_swarm, 100000,
          "Peers stored per swarm; newcomers to a full swarm get peers but "
          "are not stored.");
ABSL_FLAG(double, source_torrent_rate, 1.0,
          "New torrents one source (an IPv4 address or an IPv6 /64) may "
          "create per second (sustained); its IPv6 /56 twice as many, its "
          "IPv4 /24 or IPv6 /48 64 times.");
ABSL_FLAG(int, source_torrent_burst, 100,
          "New torrents one quiet source may create at once; its /56 twice "
          "as many, its /24 or /48 64 times.");
ABSL_FLAG(std::string, connection_key_file, "",
          "File holding the 128-bit connection-ID key as 32 hex digits, so "
          "IDs survive restarts and can be shared; created with a random "
          "key if missing (see --connection_key_create). Empty = a random "
          "key per start.");
ABSL_FLAG(bool, connection_key_create, true,
          "Create a missing --connection_key_file with a random key. false: "
          "a missing key file is an error (exit 1), for instances that must "
          "share a key made elsewhere.");
ABSL_FLAG(absl::Duration, stats_interval, absl::Seconds(60),
          "How often to log a stats line; 0 = only at exit.");
ABSL_FLAG(absl::Duration, sweep_period, absl::Seconds(60),
          "Time for the incremental expiry sweep to visit the whole table.");
ABSL_FLAG(int, socket_buffer, 8 << 20,
          "SO_RCVBUF/SO_SNDBUF per socket, bytes (as root beyond "
          "rmem_max/wmem_max).");
ABSL_FLAG(int, ring_buffers, 64,
          "io_uring provided receive buffers per socket (2 KiB of payload "
          "each, 2 176 bytes with the kernel's header, source and "
          "destination), a power of two from 64 to 32768.");

ABSL_FLAG(std::vector<std::string>, xdp, {},
          "Attach the XDP fast path to this interface; repeatable (or "
          "comma-separated). It drops malformed and forged BEP 15 traffic "
          "and answers connects in the kernel. Needs CAP_BPF and "
          "CAP_NET_ADMIN.");
ABSL_FLAG(std::string, xdp_mode, "auto",
          "native, generic (skb), or auto (native where the driver has it).");
ABSL_FLAG(std::string, xdp_connect, "on",
          "on: answer connects in XDP; off: pass them to userspace.");
ABSL_FLAG(uint32_t, xdp_rate_limit, 0,
          "Drop packets from any source (IPv4 address or IPv6 /64) above "
          "this many per second, counting connects and only verified "
          "announces and scrapes (exact token bucket in XDP); 0 = off; at "
          "most 10000000.");
ABSL_FLAG(std::string, config, "",
          "TOML file of settings: every flag is a key of the same name "
          "(e.g. interval = 900, listen = [\"0.0.0.0:6969\"]); flags on "
          "the command line win. Re-read on SIGHUP: interval, numwant, "
          "caps, the per-source torrent rate and the access list change "
          "live; other changes are logged as needing a restart.");
ABSL_FLAG(bool, print_config, false,
          "Print the effective configuration as TOML (a valid --config "
          "file) and exit.");
ABSL_FLAG(std::string, access_list, "",
          "File of info hashes (40 hex digits per line, # comments) to allow "
          "or deny (--access-mode); re-read on SIGHUP. Refused announces and "
          "scrapes get the error 'torrent not allowed'.");
ABSL_FLAG(std::string, access_mode, "allow",
          "allow: serve only the listed info hashes; deny: serve all but "
          "them.");
ABSL_FLAG(std::string, metrics, "",
          "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. "
          "127.0.0.1:9469; [::1]:9469 for IPv6); empty = off.");
ABSL_FLAG(std::string, user, "auto",
          "User to run as once sockets are bound and XDP is attached; all "
          "capabilities are dropped and no-new-privs is set. auto = nobody "
          "when started as root, else the current user; empty (--user=) = "
          "stay the current user.");
ABSL_FLAG(std::string, state_file, "",
          "Keep swarms, peers and completed counts across restarts in this "
          "file: restored at start, saved every --state_interval and at "
          "stop (temp file, fsync, rename). One ringtrackd per file (a "
          "second exits 1: PATH.lock). Its directory must be writable by "
          "--user. Empty = no state.");
ABSL_FLAG(absl::Duration, state_interval, absl::Minutes(5),
          "How often the state file is saved while serving (0 = only at "
          "stop).");
ABSL_FLAG(bool, strict_state, false,
          "Exit with code 1, leaving the file in place, when the state file "
          "is refused (corrupt, truncated, another version, foreign) or "
          "cannot be read (permissions, not a regular file, larger than "
          "--max_memory could restore), instead of starting empty.");
ABSL_FLAG(bool, http, true,
          "Serve the HTTP tracker (BEP 3 announce, BEP 48 scrape) over TCP, "
          "on the --listen addresses and ports unless --http_listen moves "
          "it; false = UDP only.");
ABSL_FLAG(std::vector<std::string>, http_listen, {},
          "Address for HTTP instead of the --listen ones, HOST:PORT or "
          "[V6]:PORT; repeatable (or comma-separated).");
ABSL_FLAG(int, http_max_connections, 32768,
          "Open HTTP connections in total (all workers); one more is closed "
          "at accept. Each costs a file descriptor and ~100 bytes idle.");
ABSL_FLAG(int, http_max_connections_per_source, 128,
          "Open HTTP connections from one source (an IPv4 address or an "
          "IPv6 /64); one more is closed at accept.");
ABSL_FLAG(absl::Duration, http_head_timeout, absl::Seconds(10),
          "Time a client has to send a whole request head, from the accept "
          "or the head's first byte (slowloris); then it is closed.");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "Time a keep-alive connection may wait for its next request.");
ABSL_FLAG(absl::Duration, http_send_timeout, absl::Seconds(10),
          "Time a client has to take a response it was sent.");
ABSL_FLAG(int, http_max_requests, 10000,
          "Requests served on one HTTP connection; the last reply says "
          "Connection: close.");
ABSL_FLAG(std::vector<std::string>, http_trusted_proxy, {},
          "CIDR of a reverse proxy whose X-Forwarded-For, X-Real-IP or "
          "Forwarded header names the client; repeatable (or "
          "comma-separated). From anyone else those headers are ignored.");
ABSL_FLAG(bool, xdp_optional, false,
          "If XDP cannot be loaded or attached, warn and run without it "
          "instead of exiting with code 1.");

namespace {

using ringtrack::IoMode;
using ringtrack::ServerConfig;

// Flags that are not settings: they may not appear in a --config file.
const std::set<std::string> kNotKeys = {"config", "print_config"};
constexpr std::string_view kMainFile = "daemon/main.cc";

// True while a SIGHUP reload validates a new configuration: a bad value
// must then keep the old configuration instead of exiting.
bool g_reloading = false;

// Reports a bad setting: the message names the flag, and the file and line
// it came from when a --config file set it. Exits 2 at start; during a
// reload it throws, and the reload keeps the configuration in force.
[[noreturn]] void BadFlag(std::string message) {
  if (message.starts_with("--")) {
    const size_t end = message.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyz_0123456789", 2);
    const std::string origin = ringtrack::ConfigOrigin(message.substr(2, end - 2));
    if (!origin.empty()) absl::StrAppend(&message, " (set in ", origin, ")");
  }
  if (g_reloading) throw std::runtime_error(message);
  std::fprintf(stderr, "ringtrackd: %s\n", message.c_str());
  std::exit(ringtrack::kExitBadUsage);
}

// Flags given on the command line (they win over the --config file).
std::set<std::string> CommandLineFlags(const std::vector<char*>& args) {
  std::set<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") break;
    if (!a.starts_with("-")) continue;
    a.remove_prefix(a.find_first_not_of('-'));
    std::string name(a.substr(0, a.find('=')));
    out.insert(name);
    if (name.starts_with("no")) out.insert(name.substr(2));  // --noflag
  }
  return out;
}

// Settings a reload may change while serving (ServerConfig fields the
// server re-reads in ApplyLive()).
const std::set<std::string> kLiveKeys = {
    "interval",           "default_numwant",      "max_numwant",
    "max_torrents",       "max_peers_per_source", "max_peers_per_swarm",
    "source_torrent_rate", "source_torrent_burst", "access_list",
    "access_mode",        "xdp_rate_limit",       "peer_timeout",
    "http_max_connections", "http_max_connections_per_source",
    "http_head_timeout",  "http_idle_timeout",    "http_send_timeout",
    "http_max_requests"};

void HttpFromFlags(ServerConfig* c);

bool IsPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

ServerConfig ConfigFromFlags() {
  ServerConfig c;
  for (const std::string& text : absl::GetFlag(FLAGS_listen)) {
    absl::StatusOr<ringtrack::ListenAddress> a =
        ringtrack::ParseListenAddress(text);
    if (!a.ok()) BadFlag(absl::StrCat("--listen: ", a.status().message()));
    c.listen.push_back(*a);
  }
  if (c.listen.empty()) BadFlag("--listen: at least one address is needed");

  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 0 || workers > 1024) BadFlag("--workers must be 0..1024");
  c.workers =
      workers == 0
          ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
          : workers;

  const std::string io = absl::GetFlag(FLAGS_io);
  if (io == "auto") {
    c.io = IoMode::kAuto;
  } else if (io == "uring") {
    c.io = IoMode::kUring;
  } else if (io == "mmsg") {
    c.io = IoMode::kMmsg;
  } else if (io == "xdp") {
    c.io = IoMode::kXsk;  // experiment: AF_XDP on the one --xdp interface
  } else {
    BadFlag("--io must be uring, mmsg, xdp or auto, not '" + io + "'");
  }

  const int interval = absl::GetFlag(FLAGS_interval);
  if (interval < 10 || interval > 86400) {
    BadFlag("--interval must be 10..86400 seconds");
  }
  c.tracker.interval_s = static_cast<uint32_t>(interval);
  int timeout = absl::GetFlag(FLAGS_peer_timeout);
  if (timeout == 0) timeout = std::min(2 * interval, 86400);
  if (timeout < 10 || timeout > 86400) {
    BadFlag("--peer_timeout must be 10..86400 seconds (or 0 for 2 × interval)");
  }
  c.peer_timeout_s = static_cast<uint32_t>(timeout);

  const int max_numwant = absl::GetFlag(FLAGS_max_numwant);
  if (max_numwant < 0 || max_numwant > 200) {
    BadFlag("--max_numwant must be 0..200");
  }
  c.tracker.max_numwant_v4 = static_cast<uint32_t>(max_numwant);
  c.tracker.max_numwant_v6 = std::min<uint32_t>(66, max_numwant);
  const int def = absl::GetFlag(FLAGS_default_numwant);
  if (def < 0 || def > max_numwant) {
    BadFlag("--default_numwant must be 0..--max_numwant");
  }
  c.tracker.default_numwant = static_cast<uint32_t>(def);

  const std::string memory = absl::GetFlag(FLAGS_max_memory);
  if (memory.empty()) {
    c.max_memory = ringtrack::DefaultMemoryBudgetBytes();
  } else {
    absl::StatusOr<uint64_t> bytes = ringtrack::ParseByteSize(memory);
    if (!bytes.ok()) BadFlag(absl::StrCat("--max_memory: ", bytes.status().message()));
    if (*bytes < (uint64_t{4} << 20)) {
      BadFlag("--max_memory must be at least 4M (the first table is 1M)");
    }
    c.max_memory = *bytes;
  }
  const int64_t torrents = absl::GetFlag(FLAGS_max_torrents);
  if (torrents < 0) BadFlag("--max_torrents must not be negative");
  c.max_torrents = static_cast<size_t>(torrents);
  const int per_source = absl::GetFlag(FLAGS_max_peers_per_source);
  if (per_source < 1 || per_source > 65535) {
    BadFlag("--max_peers_per_source must be 1..65535");
  }
  c.max_peers_per_source = static_cast<uint32_t>(per_source);
  const int per_swarm = absl::GetFlag(FLAGS_max_peers_per_swarm);
  if (per_swarm < 1 || per_swarm > 10000000) {
    BadFlag("--max_peers_per_swarm must be 1..10000000");
  }
  c.max_peers_per_swarm = static_cast<uint32_t>(per_swarm);
  c.source_torrent_rate = absl::GetFlag(FLAGS_source_torrent_rate);
  if (!(c.source_torrent_rate >= 0.001 && c.source_torrent_rate <= 1000)) {
    BadFlag("--source_torrent_rate must be 0.001..1000 per second");
  }
  const int burst = absl::GetFlag(FLAGS_source_torrent_burst);
  if (burst < 1 || burst > 1000000) {
    BadFlag("--source_torrent_burst must be 1..1000000");
  }
  c.source_torrent_burst = static_cast<uint32_t>(burst);
  c.connection_key_file = absl::GetFlag(FLAGS_connection_key_file);
  c.connection_key_create = absl::GetFlag(FLAGS_connection_key_create);

  c.stats_interval = absl::GetFlag(FLAGS_stats_interval);
  if (c.stats_interval < absl::ZeroDuration()) {
    BadFlag("--stats_interval must not be negative");
  }
  c.sweep_period = absl::GetFlag(FLAGS_sweep_period);
  if (c.sweep_period < absl::Seconds(1) || c.sweep_period > absl::Hours(1)) {
    BadFlag("--sweep_period must be 1s..1h");
  }
  const int sockbuf = absl::GetFlag(FLAGS_socket_buffer);
  if (sockbuf < 4096) BadFlag("--socket_buffer must be at least 4096 bytes");
  c.socket.buffer_bytes = sockbuf;
  const int ring = absl::GetFlag(FLAGS_ring_buffers);
  if (!IsPowerOfTwo(ring) || ring < 64 || ring > 32768) {
    BadFlag("--ring_buffers must be a power of two from 64 to 32768");
  }
  c.uring.buffers_per_socket = static_cast<unsigned>(ring);
  c.uring.sq_entries = std::min(256u, c.uring.buffers_per_socket);
  c.uring.cq_entries = 4 * c.uring.sq_entries;

  c.state_file = absl::GetFlag(FLAGS_state_file);
  c.state_interval = absl::GetFlag(FLAGS_state_interval);
  if (c.state_interval < absl::ZeroDuration()) {
    BadFlag("--state_interval must not be negative");
  }
  c.strict_state = absl::GetFlag(FLAGS_strict_state);

  c.access_list_path = absl::GetFlag(FLAGS_access_list);
  const std::string access_mode = absl::GetFlag(FLAGS_access_mode);
  if (access_mode == "allow") {
    c.access_mode = ringtrack::AccessList::Mode::kAllow;
  } else if (access_mode == "deny") {
    c.access_mode = ringtrack::AccessList::Mode::kDeny;
  } else {
    BadFlag("--access_mode must be allow or deny, not '" + access_mode + "'");
  }
  if (!c.access_list_path.empty()) {
    // A bad list at start is a configuration error: exit 2 naming the line.
    absl::StatusOr<std::unique_ptr<const ringtrack::AccessList>> list =
        ringtrack::AccessList::Load(c.access_list_path, c.access_mode);
    if (!list.ok()) BadFlag(absl::StrCat("--access_list: ", list.status().message()));
  }
  if (const std::string m = absl::GetFlag(FLAGS_metrics); !m.empty()) {
    const size_t colon = m.rfind(':');
    int port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(m.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      BadFlag("--metrics must be HOST:PORT, not '" + m + "'");
    }
    std::string host = m.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) BadFlag("--metrics needs a host, e.g. 127.0.0.1:9469");
    c.metrics_host = host;
    c.metrics_port = port;
  }
  c.xdp_interfaces = absl::GetFlag(FLAGS_xdp);
  if (c.io == IoMode::kXsk && c.xdp_interfaces.size() != 1) {
    BadFlag("--io xdp needs exactly one --xdp interface (its queue 0 is served)");
  }
  const std::string mode = absl::GetFlag(FLAGS_xdp_mode);
  if (mode == "auto") {
    c.xdp_mode = ringtrack::XdpMode::kAuto;
  } else if (mode == "native") {
    c.xdp_mode = ringtrack::XdpMode::kNative;
  } else if (mode == "generic" || mode == "skb") {
    c.xdp_mode = ringtrack::XdpMode::kGeneric;
  } else {
    BadFlag("--xdp_mode must be native, generic or auto, not '" + mode + "'");
  }
  const std::string connect = absl::GetFlag(FLAGS_xdp_connect);
  if (connect != "on" && connect != "off") {
    BadFlag("--xdp_connect must be on or off");
  }
  c.xdp_connect = connect == "on";
  c.xdp_rate_limit_pps = absl::GetFlag(FLAGS_xdp_rate_limit);
  if (c.xdp_rate_limit_pps > RT_XDP_MAX_RATE_PPS) {
    BadFlag(absl::StrCat("--xdp_rate_limit ", c.xdp_rate_limit_pps,
                         " is beyond what the limiter can time exactly: at most ",
                         RT_XDP_MAX_RATE_PPS, " packets/s per source"));
  }
  c.xdp_optional = absl::GetFlag(FLAGS_xdp_optional);
  HttpFromFlags(&c);
  return c;
}

// A duration flag in milliseconds, within [min_ms, max_ms].
uint32_t MillisFlag(const char* name, absl::Duration d, int64_t min_ms,
                    int64_t max_ms) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms < min_ms || ms > max_ms) {
    BadFlag(absl::StrCat("--", name, " must be ", min_ms / 1000, "s..",
                         max_ms / 1000, "s, not ", absl::FormatDuration(d)));
  }
  return static_cast<uint32_t>(ms);
}

void HttpFromFlags(ServerConfig* c) {
  c->http = absl::GetFlag(FLAGS_http);
  for (const std::string& text : absl::GetFlag(FLAGS_http_listen)) {
    absl::StatusOr<ringtrack::ListenAddress> a =
        ringtrack::ParseListenAddress(text);
    if (!a.ok()) {
      BadFlag(absl::StrCat("--http_listen: ", a.status().message()));
    }
    c->http_listen.push_back(*a);
  }
  const int total = absl::GetFlag(FLAGS_http_max_connections);
  if (total < 1 || total > 1000000) {
    BadFlag("--http_max_connections must be 1..1000000");
  }
  c->http_max_connections = static_cast<uint32_t>(total);
  const int per_source = absl::GetFlag(FLAGS_http_max_connections_per_source);
  if (per_source < 1 || per_source > total) {
    BadFlag("--http_max_connections_per_source must be 1..--http_max_connections");
  }
  c->http_max_connections_per_source = static_cast<uint32_t>(per_source);
  c->http_timeouts.head_ms = MillisFlag(
      "http_head_timeout", absl::GetFlag(FLAGS_http_head_timeout), 1000, 300000);
  c->http_timeouts.idle_ms = MillisFlag(
      "http_idle_timeout", absl::GetFlag(FLAGS_http_idle_timeout), 1000, 3600000);
  c->http_timeouts.send_ms = MillisFlag(
      "http_send_timeout", absl::GetFlag(FLAGS_http_send_timeout), 1000, 300000);
  const int requests = absl::GetFlag(FLAGS_http_max_requests);
  if (requests < 1 || requests > 100000000) {
    BadFlag("--http_max_requests must be 1..100000000");
  }
  c->http_max_requests = static_cast<uint32_t>(requests);
  c->http_trusted_proxies = absl::GetFlag(FLAGS_http_trusted_proxy);
  for (const std::string& cidr : c->http_trusted_proxies) {
    if (absl::StatusOr<ringtrack::http::Cidr> p =
            ringtrack::http::Cidr::Parse(cidr);
        !p.ok()) {
      BadFlag(absl::StrCat("--http_trusted_proxy '", cidr,
                           "': ", p.status().message(),
                           " (give ADDR/LEN, e.g. 10.0.0.0/8 or ::1/128)"));
    }
  }
}

// Raises the soft open-files limit to what the HTTP connection cap needs
// (up to the hard limit): each connection is a descriptor, and the usual
// soft limit of 1024 would refuse accepts long before the cap.
void RaiseFileLimit(const ServerConfig& c) {
  if (!c.http) return;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  // The cap, plus room for the sockets, listeners, files and rings.
  const rlim_t want = rlim_t{c.http_max_connections} + 1024;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    ringtrack::log::Warning(
        "open files limited to %d (hard RLIMIT_NOFILE): HTTP accepts fail "
        "past about %d connections, below --http_max_connections=%d; raise "
        "LimitNOFILE (systemd) or ulimit -Hn",
        static_cast<int64_t>(rl.rlim_cur),
        static_cast<int64_t>(rl.rlim_cur) - 1024, c.http_max_connections);
  }
}

// SIGHUP with --config: re-reads the file, validates the whole result, then
// applies what can change live and logs each change; settings that need a
// restart are logged as such. A bad file changes nothing.
void Reload(const std::string& path, const std::set<std::string>& on_command_line,
            ringtrack::Server* server) {
  const auto saved = ringtrack::SaveFlags(kMainFile, kNotKeys);
  const auto before = ringtrack::EffectiveFlags(kMainFile, kNotKeys);
  ServerConfig next;
  g_reloading = true;
  try {
    if (absl::Status s =
            ringtrack::ApplyConfigFile(path, kMainFile, kNotKeys, on_command_line);
        !s.ok()) {
      throw std::runtime_error(std::string(s.message()));
    }
    next = ConfigFromFlags();
  } catch (const std::exception& e) {
    g_reloading = false;
    ringtrack::RestoreFlags(saved);
    ringtrack::log::Error("SIGHUP: keeping the configuration in force: %s",
                          e.what());
    return;
  }
  g_reloading = false;
  const auto after = ringtrack::EffectiveFlags(kMainFile, kNotKeys);
  bool restart = false;
  for (const auto& [key, value] : after) {
    const std::string& old = before.at(key);
    if (old == value) continue;
    if (kLiveKeys.count(key)) {
      ringtrack::log::Info("SIGHUP: %s %s -> %s", key, old, value);
    } else {
      ringtrack::log::Warning(
          "SIGHUP: %s changed to %s in the file; it takes effect only after "
          "a restart", key, value);
      restart = true;
    }
  }
  // The server keeps its old access list itself when the new one fails.
  if (absl::Status a = server->ApplyLive(next); !a.ok()) {
    ringtrack::log::Error("SIGHUP: keeping the old access list: %s", a.message());
  }
  ringtrack::log::Info("SIGHUP: configuration reloaded from %s%s", path,
                       restart ? " (some changes need a restart)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  // Peer blocks (core/swarm/peer_set.h) are small and replaced on every growth
  // step; without fastbins glibc coalesces the freed ones at once, which
  // leaves fewer holes between live blocks (2 M peers: 0.5 MiB less RSS;
  // the per-thread tcache still serves the common sizes first).
  mallopt(M_MXFAST, 0);
  absl::SetProgramUsageMessage(
      "ringtrack BitTorrent UDP tracker (BEP 15).\n"
      "Usage: ringtrackd [--listen HOST:PORT]... [flags]");
  ringtrack::HelpShowsFlagsFrom("daemon/main.cc",
                                "ringtrackd " RINGTRACK_VERSION);
  std::deque<std::string> storage;
  std::vector<char*> args =
      ringtrack::NormalizeFlags(argc, argv,
                                {"listen", "xdp", "http_listen",
                                 "http_trusted_proxy"},
                                &storage);
  if (const std::vector<char*> pos = ringtrack::ParseCommandLineOrExit(args);
      pos.size() > 1) {
    std::fprintf(stderr,
                 "ringtrackd: unexpected argument '%s' (flags start with --; "
                 "see --help)\n",
                 pos[1]);
    return ringtrack::kExitBadUsage;
  }
  const std::set<std::string> on_command_line = CommandLineFlags(args);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (!config_path.empty()) {
    if (absl::Status s = ringtrack::ApplyConfigFile(config_path, kMainFile,
                                                    kNotKeys, on_command_line);
        !s.ok()) {
      std::fprintf(stderr, "ringtrackd: %s\n", std::string(s.message()).c_str());
      return ringtrack::kExitBadUsage;
    }
  }
  const ServerConfig config = ConfigFromFlags();
  if (absl::GetFlag(FLAGS_print_config)) {
    std::fputs(ringtrack::EffectiveConfigToml(kMainFile, kNotKeys).c_str(),
               stdout);
    return ringtrack::kExitOk;
  }

  // Block the signals we handle before any thread starts, so they are all
  // delivered to sigwait() below. SIGHUP is reserved for reloading the
  // configuration: it must never kill the daemon.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RaiseFileLimit(config);
  absl::StatusOr<std::unique_ptr<ringtrack::Server>> server =
      ringtrack::Server::Create(config);
  if (!server.ok()) {
    std::fprintf(stderr, "ringtrackd: %s\n",
                 std::string(server.status().message()).c_str());
    return ringtrack::kExitRuntimeFailure;
  }
  std::string user = absl::GetFlag(FLAGS_user);
  if (user == "auto") user = geteuid() == 0 ? "nobody" : "";
  if (absl::Status s = ringtrack::DropPrivileges(user); !s.ok()) {
    std::fprintf(stderr, "ringtrackd: dropping privileges: %s\n",
                 std::string(s.message()).c_str());
    return ringtrack::kExitRuntimeFailure;
  }
  if (!config.state_file.empty()) {
    // Saving renames a temp file into place: the directory must be
    // writable by the user we now are, or every save would fail.
    const std::string dir = ringtrack::StateFileDirectory(config.state_file);
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
      std::fprintf(stderr,
                   "ringtrackd: --state_file: directory %s is not writable "
                   "by user %s (make it theirs, or choose --user)\n",
                   dir.c_str(), user.empty() ? "(current)" : user.c_str());
      return ringtrack::kExitRuntimeFailure;
    }
  }
  std::vector<std::string> addrs;
  for (const auto& a : (*server)->bound()) addrs.push_back(a.text);
  std::vector<std::string> http_addrs;
  for (const auto& a : (*server)->http_bound()) http_addrs.push_back(a.text);
  // systemd (Type=notify): READY once serving, watchdog pings from the
  // housekeeping thread at half the interval systemd asked for, STOPPING at
  // the end. All no-ops without NOTIFY_SOCKET.
  if (const absl::Duration watchdog = ringtrack::systemd::WatchdogTimeout();
      watchdog > absl::ZeroDuration()) {
    (*server)->SetWatchdog([] { ringtrack::systemd::Notify("WATCHDOG=1"); },
                           watchdog / 2);
  }
  (*server)->Start();
  ringtrack::log::Info(
      "ringtrackd %s io=%s workers=%d listen=%s interval=%ds "
      "peer_timeout=%ds max_memory=%dB xdp=%s user=%s metrics=%s http=%s",
      RINGTRACK_VERSION,
      absl::StrCat(config.io == IoMode::kXsk
                       ? absl::StrCat("xdp(", config.xdp_interfaces[0], " queue 0)+")
                       : "",
                   (*server)->io_path() == ringtrack::IoPath::kUring ? "uring"
                                                                     : "mmsg"),
      config.workers, absl::StrJoin(addrs, ","), config.tracker.interval_s,
      config.peer_timeout_s, config.max_memory, (*server)->xdp_summary(),
      user.empty() ? "(unchanged)" : user,
      (*server)->metrics_port() == 0
          ? std::string("off")
          : absl::StrCat(config.metrics_host, ":", (*server)->metrics_port()),
      http_addrs.empty() ? std::string("off") : absl::StrJoin(http_addrs, ","));

  ringtrack::systemd::Notify(absl::StrCat("READY=1\nSTATUS=serving ",
                                         absl::StrJoin(addrs, ","),
                                         "\nMAINPID=", getpid()));
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;  // SIGINT, SIGTERM and SIGQUIT stop cleanly
    if (config_path.empty()) {
      if (config.access_list_path.empty()) {
        ringtrack::log::Info("SIGHUP: nothing to reload");
      } else if (absl::Status a = (*server)->ReloadAccessList(); !a.ok()) {
        ringtrack::log::Error("SIGHUP: keeping the old access list: %s",
                              a.message());
      }
      continue;
    }
    Reload(config_path, on_command_line, server->get());
  }
  ringtrack::systemd::Notify("STOPPING=1");
  const absl::Status saved = (*server)->Stop();
  ringtrack::log::Info("stopped on signal %d; final %s", sig,
                       (*server)->StatsLine());
  if (!saved.ok()) {
    // The announces since the last snapshot are lost: a supervisor (and
    // Restart=on-failure) must see it.
    ringtrack::log::Error(
        "exiting with code 1: the final state save failed: %s",
        saved.message());
    return ringtrack::kExitRuntimeFailure;
  }
  return ringtrack::kExitOk;
}
