// ringtrackd's settings as one table: RT_SETTINGS below has one row per
// setting, and everything an operator sees of a setting is derived from its
// row: the command-line flag (main.cc expands the rows into ABSL_FLAGs), the
// TOML key of --config and the type its value must have, the range check,
// --print-config, which settings a SIGHUP reload applies live, --help, the
// man page's OPTIONS and README's settings table (both made from
// `ringtrackd --print-settings-table=man|markdown`; the settings_docs test
// fails when README or the man page drifts from it).
//
// A row is X(NAME, TYPE, DEFAULT, VALUES, RELOAD, FIELD, HELP):
//   NAME     the flag (--NAME, or with dashes) and the TOML key.
//   TYPE     Int, Real, Bool, Text, List (of strings), Bytes ("8M", "1.5G"),
//            Duration ("30s", "5m"; a bare number other than 0 is refused
//            with the unit to add) or Seconds (a bare integer is seconds;
//            "10m" also works). In TOML the value must have the matching
//            type: interval = "600" or max_torrents = 1.0 is refused.
//   DEFAULT  a value, or kStructDefault: the initializer of FIELD in its
//            struct (ServerConfig, or the core struct it embeds), so each
//            default is written once.
//   VALUES   Any(), Range(LO, HI), ZeroOr(LO, HI) (0 means "off" or
//            "automatic", as HELP says), OneOf("a|b|c"); ranges are in the
//            type's unit (seconds, bytes). .Why("...") gives the reason a
//            value outside is refused.
//   RELOAD   kLive: a SIGHUP reload applies a change (a kLive row's field
//            must be one Server::ApplyLive() reads); kRestart: a change is
//            logged as needing a restart.
//   FIELD    where ConfigFromFlags() stores the value, in main.cc's
//            DaemonConfig (`server.` is the ServerConfig), through main.cc's
//            Assign() for the (TYPE, field type) pair: a new field type (an
//            enum, say) gets an Assign() overload there.
//   HELP     one sentence or a few: --help, the man page and README's table.
// Settings another part adds (a protocol's listen addresses, a map file)
// are new rows; a value whose meaning depends on another setting is checked
// after the rows, in main.cc's FinishConfig().
#ifndef RINGTRACK_DAEMON_SETTINGS_H_
#define RINGTRACK_DAEMON_SETTINGS_H_

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// clang-format off
#define RT_SETTINGS(X) \
  X(listen, List, List({"0.0.0.0:6969", "[::]:6969"}), Any(), kRestart, server.listen, \
    "Address to serve, HOST:PORT or [V6]:PORT; repeatable (or comma-separated). IPv6 " \
    "sockets are V6ONLY, so IPv4 always has its own socket; port 0 picks a free port.") \
  X(workers, Int, 0, Range(0, 1024), kRestart, server.workers, \
    "Worker threads, each with its own socket per address and its own ring; 0 = one " \
    "per CPU core.") \
  X(io, Text, "auto", OneOf("auto|uring|mmsg|xdp"), kRestart, server.io, \
    "I/O path: uring, mmsg (recvmmsg/sendmmsg), auto (uring where the kernel allows " \
    "it; the start line says which runs), or xdp: an AF_XDP socket on queue 0 of the " \
    "one --xdp interface serves what the XDP program redirects (see \"The AF_XDP path\"; " \
    "needs CAP_NET_RAW).") \
  X(interval, Seconds, kStructDefault, \
    Range(10, 86400).Why("every client re-announces this often; 1 day is the longest peer timeout"), \
    kLive, server.tracker.interval_s, \
    "Announce interval told to clients, in seconds (or with a unit: 30m).") \
  X(peer_timeout, Seconds, 0, ZeroOr(10, 86400), kLive, server.table.peer_timeout_s, \
    "A peer not heard from for this long is removed, in seconds (or with a unit: " \
    "1h); 0 = 2 × --interval (at most 1 day).") \
  X(default_numwant, Int, kStructDefault, Range(0, 200), kLive, \
    server.tracker.default_numwant, \
    "Peers returned when a client asks for the default (-1); at most --max_numwant.") \
  X(max_numwant, Int, kStructDefault, Range(0, 200), kLive, server.tracker.max_numwant_v4, \
    "Most IPv4 peers in one reply (IPv6 replies are capped at 66 so a reply stays " \
    "within ~1.2 KB).") \
  X(max_memory, Bytes, Bytes(), ZeroOr(4 << 20, kNoLimit).Why("the first table is 1M"), \
    kRestart, server.max_memory, \
    "Memory budget for the swarm table and all peer sets. At the budget new torrents " \
    "and new peers get the error 'tracker is full'; stored peers keep working. Empty = " \
    "half of physical memory, or of the cgroup's limit when that is lower; more than " \
    "the host's memory is refused.") \
  X(max_torrents, Int, kStructDefault, Range(0, kNoLimit), kLive, server.table.max_torrents, \
    "Optional cap on torrents, below what the memory budget allows; 0 = no cap (the " \
    "budget decides).") \
  X(max_peers_per_source, Int, kStructDefault, Range(1, 65535), kLive, \
    server.table.max_peers_per_source, \
    "Entries one source (an IPv4 address or an IPv6 /64) may hold in one swarm; more " \
    "are answered but not stored (an IPv4 /24 or IPv6 /48 also holds at most 1/64 of " \
    "the budget's peers in the whole table).") \
  X(max_peers_per_swarm, Int, kStructDefault, Range(1, 10000000), kLive, \
    server.table.max_peers_per_swarm, \
    "Peers stored per swarm; a newcomer to a full swarm gets peers but is not stored.") \
  X(source_torrent_rate, Real, kStructDefault, Range(0.001, 1000), kLive, \
    server.limiter.rate_per_s, \
    "New torrents one source (an IPv4 address or an IPv6 /64) may create per second " \
    "(token bucket); its IPv6 /56 twice as many, its IPv4 /24 or IPv6 /48 64 times.") \
  X(source_torrent_burst, Int, kStructDefault, Range(1, 1000000), kLive, \
    server.limiter.burst, \
    "New torrents one quiet source may create at once; its /56 twice as many, its /24 " \
    "or /48 64 times.") \
  X(connection_key_file, Text, "", Any(), kRestart, server.connection_key_file, \
    "File holding the 128-bit connection-ID key as 32 hex digits, so IDs survive " \
    "restarts and several instances can share them; created with a random key if " \
    "missing (see --connection_key_create). Empty = a random key per start.") \
  X(connection_key_create, Bool, kStructDefault, Any(), kRestart, \
    server.connection_key_create, \
    "Create a missing --connection_key_file with a random key. false: a missing key " \
    "file is an error (exit 1), for instances that must share a key made elsewhere.") \
  X(stats_interval, Duration, kStructDefault, \
    ZeroOr(0.1, 86400).Why("a stats line more often than every 100ms floods the log"), \
    kRestart, server.stats_interval, \
    "How often to log a stats line; 0 = only at exit.") \
  X(sweep_period, Duration, kStructDefault, \
    Range(1, 3600).Why("faster keeps a core busy; slower lets expired peers linger"), \
    kRestart, server.sweep_period, \
    "Time for the incremental expiry sweep to visit the whole table.") \
  X(socket_buffer, Bytes, kStructDefault, Range(4096, 1 << 30), kRestart, \
    server.socket.buffer_bytes, \
    "SO_RCVBUF/SO_SNDBUF per socket (as root beyond rmem_max/wmem_max).") \
  X(ring_buffers, Int, kStructDefault, \
    Range(64, 32768).Why("a power of two from 64 to 32768"), kRestart, \
    server.uring.buffers_per_socket, \
    "io_uring provided receive buffers per socket (2 KiB of payload each, 2 176 bytes " \
    "with the kernel's header and addresses), a power of two; when they run out the " \
    "kernel keeps datagrams in the socket buffer until the receive is re-armed.") \
  X(xdp, List, List(), Any(), kRestart, server.xdp_interfaces, \
    "Attach the XDP fast path to this interface; repeatable (or comma-separated). It " \
    "drops malformed and forged BEP 15 traffic and answers connects in the kernel. Needs " \
    "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON.") \
  X(xdp_mode, Text, "auto", OneOf("auto|native|generic|skb"), kRestart, server.xdp_mode, \
    "native, generic (skb), or auto (native where the driver has it).") \
  X(xdp_connect, Text, "on", OneOf("on|off"), kRestart, server.xdp_connect, \
    "on: answer connects in XDP (XDP_TX); off: pass them to userspace.") \
  X(xdp_rate_limit, Int, kStructDefault, \
    Range(0, RT_XDP_MAX_RATE_PPS).Why("beyond that the limiter cannot time packets exactly"), \
    kLive, \
    server.xdp_rate_limit_pps, \
    "Drop packets from any source (IPv4 address or IPv6 /64) above this many per " \
    "second, counting connects and only verified announces and scrapes (exact token " \
    "bucket in XDP); 0 = off.") \
  X(xdp_optional, Bool, kStructDefault, Any(), kRestart, server.xdp_optional, \
    "If XDP cannot be loaded or attached, warn and run without it instead of exiting " \
    "with code 1.") \
  X(access_list, Text, "", Any(), kLive, server.access_list_path, \
    "File of info hashes (40 hex digits per line, # comments) to allow or deny " \
    "(--access_mode); refused announces and scrapes get 'torrent not allowed'. Re-read " \
    "on SIGHUP, as --user: it must be readable by --user at start. Charged to " \
    "--max_memory, and refused if larger than half of it.") \
  X(access_mode, Text, "allow", OneOf("allow|deny"), kLive, server.access_mode, \
    "allow: serve only the listed info hashes; deny: serve all but them.") \
  X(network_map, Text, "", Any(), kLive, server.network_map_path, \
    "Network map for locality-aware peer selection: a libloc database (one network " \
    "per AS, e.g. Debian's /usr/share/libloc-location/location.db) or a text file of " \
    "'CIDR NAME [CC]' lines, told apart by content. A reply then takes up to " \
    "--locality_share of its peers from the requester's own network. Re-read on " \
    "SIGHUP, as --user (a bad map keeps the old one); charged to --max_memory. " \
    "Empty = every reply random.") \
  X(locality_share, Real, kStructDefault, \
    Range(0, 1).Why("it is the share of a reply's peers"), kLive, \
    server.tracker.locality_share, \
    "With --network_map: the share of a reply's peers taken from the requester's " \
    "own network (rounded up); the rest come at random from other networks, so " \
    "the swarm stays connected. 0 = random.") \
  X(metrics, Text, "", Any(), kRestart, metrics, \
    "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9469; " \
    "[::1]:9469 for IPv6); empty = off. A wildcard host (0.0.0.0, [::]) is warned " \
    "about: anyone who reaches the port reads the counters.") \
  X(user, Text, "auto", Any(), kRestart, user, \
    "User to run as once sockets are bound and XDP is attached; all capabilities are " \
    "dropped and no-new-privs is set. auto = nobody when started as root, else the " \
    "current user; empty (--user=) = stay the current user. The config file, the " \
    "access list and the network map must be readable by this user.") \
  X(state_file, Text, "", Any(), kRestart, server.state_file, \
    "Keep swarms, peers and completed counts across restarts in this file: restored " \
    "at start, saved every --state_interval and at stop (temp file, fsync, rename). " \
    "One ringtrackd per file (a second exits 1: PATH.lock). Its directory must be " \
    "writable by --user. Empty = no state.") \
  X(state_interval, Duration, kStructDefault, \
    ZeroOr(0.1, 86400).Why("each save writes every peer to disk"), kRestart, \
    server.state_interval, \
    "How often the state file is saved while serving (0 = only at stop); under 30s " \
    "is warned about.") \
  X(strict_state, Bool, kStructDefault, Any(), kRestart, server.strict_state, \
    "Exit with code 1, leaving the file in place, when the state file is refused " \
    "(corrupt, truncated, another version, foreign) or cannot be read (permissions, " \
    "not a regular file, larger than --max_memory could restore), instead of starting " \
    "empty.") \
  X(http, Bool, kStructDefault, Any(), kRestart, server.http, \
    "Serve the HTTP tracker (BEP 3 announce, BEP 48 scrape) over TCP, on the --listen " \
    "addresses and ports unless --http_listen moves it; false = UDP only.") \
  X(http_listen, List, List(), Any(), kRestart, http_listen, \
    "Address for HTTP instead of the --listen ones, HOST:PORT or [V6]:PORT; " \
    "repeatable (or comma-separated).") \
  X(http_max_connections, Int, kStructDefault, \
    Range(1, 1000000).Why("each is a file descriptor"), kLive, \
    server.http_max_connections, \
    "Open HTTP connections in total (all workers); one more is closed at accept. " \
    "The soft open-files limit is raised to this + 1024 at start.") \
  X(http_max_connections_per_source, Int, kStructDefault, Range(1, 1000000), kLive, \
    server.http_max_connections_per_source, \
    "Open HTTP connections from one source (an IPv4 address or an IPv6 /64); one " \
    "more is closed at accept. At most --http_max_connections.") \
  X(http_head_timeout, Duration, kStructDefault, \
    Range(1, 300).Why("a client sends its head at once; longer feeds slowloris"), \
    kLive, server.http_head_timeout, \
    "Time a client has to send a whole request head, from the accept or the head's " \
    "first byte (slowloris); then it is closed.") \
  X(http_idle_timeout, Duration, kStructDefault, Range(1, 3600), kLive, \
    server.http_idle_timeout, \
    "Time a keep-alive connection may wait for its next request.") \
  X(http_send_timeout, Duration, kStructDefault, Range(1, 300), kLive, \
    server.http_send_timeout, \
    "Time a client has to take a response it was sent.") \
  X(http_max_requests, Int, kStructDefault, Range(1, 100000000), kLive, \
    server.http_max_requests, \
    "Requests served on one HTTP connection; the last reply says Connection: close.") \
  X(http_trusted_proxy, List, List(), Any(), kRestart, server.http_trusted_proxies, \
    "CIDR of a reverse proxy whose X-Forwarded-For, X-Real-IP or Forwarded header " \
    "names the client; repeatable (or comma-separated). From anyone else those " \
    "headers are ignored.")
// clang-format on

namespace ringtrack::setting {

// The value types of the rows. Bytes, Duration and Seconds parse their
// text with core/cli/command_line.h's ParseByteSize() and
// ParseDurationWithUnit(), on the command line and in TOML alike.
using Int = int64_t;
using Real = double;
using Bool = bool;
using Text = std::string;
using List = std::vector<std::string>;

// A size; 0 (written "") means "not set" where the row allows it.
struct Bytes {
  Bytes() = default;
  Bytes(uint64_t b) : bytes(b) {}  // NOLINT: a default from a struct field
  uint64_t bytes = 0;
};
bool AbslParseFlag(absl::string_view text, Bytes* out, std::string* error);
std::string AbslUnparseFlag(Bytes value);

// A duration that needs a unit ("30s", "5m", "1h"); 0 needs none.
struct Duration {
  Duration() = default;
  Duration(absl::Duration d) : value(d) {}  // NOLINT: as above
  absl::Duration value;
};
bool AbslParseFlag(absl::string_view text, Duration* out, std::string* error);
std::string AbslUnparseFlag(Duration value);

// Whole seconds: a bare integer ("900") or a duration with a unit ("15m").
struct Seconds {
  Seconds() = default;
  Seconds(int64_t s) : value(s) {}  // NOLINT: as above
  int64_t value = 0;
};
bool AbslParseFlag(absl::string_view text, Seconds* out, std::string* error);
std::string AbslUnparseFlag(Seconds value);

enum class Kind { kInt, kReal, kBool, kText, kList, kBytes, kDuration, kSeconds };
template <class T> constexpr Kind KindOf();
template <> constexpr Kind KindOf<Int>() { return Kind::kInt; }
template <> constexpr Kind KindOf<Real>() { return Kind::kReal; }
template <> constexpr Kind KindOf<Bool>() { return Kind::kBool; }
template <> constexpr Kind KindOf<Text>() { return Kind::kText; }
template <> constexpr Kind KindOf<List>() { return Kind::kList; }
template <> constexpr Kind KindOf<Bytes>() { return Kind::kBytes; }
template <> constexpr Kind KindOf<Duration>() { return Kind::kDuration; }
template <> constexpr Kind KindOf<Seconds>() { return Kind::kSeconds; }

// What a TOML value of this kind must be, for errors ("an integer").
absl::string_view KindExpects(Kind kind);

inline constexpr double kNoLimit = std::numeric_limits<double>::infinity();

// The VALUES column. Numbers are in the kind's unit (seconds for Duration
// and Seconds, bytes for Bytes).
struct Values {
  double min = -kNoLimit;
  double max = kNoLimit;
  bool zero_ok = false;          // 0 is allowed below min (off / automatic)
  absl::string_view choices;      // "a|b|c"; empty: any text
  absl::string_view why;          // why values outside are refused
  constexpr Values Why(absl::string_view reason) const {
    Values v = *this;
    v.why = reason;
    return v;
  }
};
constexpr Values Any() { return {}; }
constexpr Values Range(double lo, double hi) { return {lo, hi, false, {}, {}}; }
constexpr Values ZeroOr(double lo, double hi) { return {lo, hi, true, {}, {}}; }
constexpr Values OneOf(absl::string_view choices) {
  return {-kNoLimit, kNoLimit, false, choices, {}};
}

enum class Reload { kLive, kRestart };
inline constexpr Reload kLive = Reload::kLive;
inline constexpr Reload kRestart = Reload::kRestart;

// The DEFAULT column's kStructDefault: the FIELD's own initializer.
struct StructDefault {};
inline constexpr StructDefault kStructDefault;
template <class T, class F>
T DefaultOf(StructDefault, const F& field) {
  return T(field);
}
template <class T, class V, class F>
T DefaultOf(const V& value, const F&) {
  return T(value);
}

// One row, as the tools that derive from the table see it.
struct Info {
  absl::string_view name;
  Kind kind;
  Values values;
  Reload reload;
  absl::string_view help;
};

// OK iff `value` (in the kind's unit) is within `info.values`; the error
// names the flag, the allowed values and the reason.
absl::Status CheckValue(const Info& info, double value);
absl::Status CheckChoice(const Info& info, absl::string_view value);

// "10..86400", "0, or 1s..1d", "auto, uring, mmsg, xdp", "" (any): the
// VALUES column as the docs show it.
std::string DescribeValues(const Info& info);

// The docs made from the table, with each setting's default as its flag
// reports it: README's table (markdown) and the man page's OPTIONS (roff).
// REQUIRES: every row's flag is defined (absl reflection finds it).
std::string SettingsMarkdown(std::span<const Info> settings);
std::string SettingsRoff(std::span<const Info> settings);

}  // namespace ringtrack::setting

#endif  // RINGTRACK_DAEMON_SETTINGS_H_
