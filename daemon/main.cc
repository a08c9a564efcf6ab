// ringtrackd: the ringtrack BitTorrent UDP tracker daemon (BEP 15 / BEP 41).
#include <malloc.h>
#include <pwd.h>
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
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bpf/tracker_shared.h"  // RT_XDP_MAX_RATE_PPS, in the table
#include "core/cli/command_line.h"
#include "core/http/client_address.h"
#include "daemon/config_file.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/privileges.h"
#include "daemon/server.h"
#include "daemon/settings.h"
#include "daemon/state_file.h"
#include "daemon/system_memory.h"

namespace {

// Everything ConfigFromFlags() fills in: the server's configuration and
// the settings main() itself acts on. The rows' FIELD column names these.
struct DaemonConfig {
  ringtrack::ServerConfig server;
  std::string user;     // as given: "auto", a name, or "" (stay)
  std::string metrics;  // HOST:PORT or ""; split into server.metrics_*
  // HOST:PORT each, or none (HTTP on the --listen addresses); parsed into
  // server.http_listen.
  std::vector<std::string> http_listen;
};

// The defaults the rows marked kStructDefault take (their field's
// initializer).
const DaemonConfig kDefaults;

}  // namespace

using ringtrack::setting::Any;
using ringtrack::setting::Bool;
using ringtrack::setting::Bytes;
using ringtrack::setting::DefaultOf;
using ringtrack::setting::Duration;
using ringtrack::setting::Int;
using ringtrack::setting::kLive;
using ringtrack::setting::kNoLimit;
using ringtrack::setting::kRestart;
using ringtrack::setting::kStructDefault;
using ringtrack::setting::List;
using ringtrack::setting::OneOf;
using ringtrack::setting::Range;
using ringtrack::setting::Real;
using ringtrack::setting::Seconds;
using ringtrack::setting::Text;
using ringtrack::setting::ZeroOr;

// One flag per row of daemon/settings.h.
#define RT_DEFINE_FLAG(name, type, def, values, reload, field, help) \
  ABSL_FLAG(type, name, (DefaultOf<type>(def, kDefaults.field)), help);
RT_SETTINGS(RT_DEFINE_FLAG)
#undef RT_DEFINE_FLAG

// Flags that are not settings: they may not appear in a --config file.
ABSL_FLAG(std::string, config, "",
          "TOML file of settings: every setting is a key of the same name "
          "(e.g. interval = 900, listen = [\"0.0.0.0:6969\"]); flags on "
          "the command line win (each one that overrides the file is "
          "logged). Re-read on SIGHUP: the settings marked live change "
          "live; other changes are logged as needing a restart. Must be "
          "readable by --user.");
ABSL_FLAG(bool, print_config, false,
          "Print the effective configuration as TOML (a valid --config "
          "file) and exit.");
ABSL_FLAG(std::string, print_settings_table, "",
          "markdown or man: print the settings table (README's, the man "
          "page's OPTIONS) and exit; used by the build and its tests.");

namespace {

using ringtrack::IoMode;
using ringtrack::ServerConfig;
namespace setting = ringtrack::setting;

// The rows as data, for the config file, --print-config, the reload and
// the docs.
#define RT_SETTING_INFO(name, type, def, values, reload, field, help) \
  setting::Info{#name, setting::KindOf<type>(), values, reload, help},
constexpr setting::Info kSettings[] = {RT_SETTINGS(RT_SETTING_INFO)};
#undef RT_SETTING_INFO

const setting::Info& SettingNamed(absl::string_view name) {
  for (const setting::Info& s : kSettings) {
    if (s.name == name) return s;
  }
  std::abort();  // a name from the table itself
}

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
  ringtrack::log::Fatal("%s", message);
  std::exit(ringtrack::kExitBadUsage);
}

// A setting's warning (a value that works but is likely a mistake), with
// the file and line that set it.
void WarnFlag(const std::string& name, const std::string& message) {
  const std::string origin = ringtrack::ConfigOrigin(name);
  ringtrack::log::Warning("--%s %s%s", name, message,
                          origin.empty() ? "" : absl::StrCat(" (set in ", origin, ")"));
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

bool IsPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Assign(): a checked row value into its FIELD. The numeric kinds were
// range-checked against the row, so the casts below do not truncate.
absl::Status Assign(Int v, int* f) { *f = static_cast<int>(v); return absl::OkStatus(); }
absl::Status Assign(Int v, uint32_t* f) { *f = static_cast<uint32_t>(v); return absl::OkStatus(); }
absl::Status Assign(Int v, unsigned long* f) { *f = static_cast<unsigned long>(v); return absl::OkStatus(); }
absl::Status Assign(Real v, double* f) { *f = v; return absl::OkStatus(); }
absl::Status Assign(Bool v, bool* f) { *f = v; return absl::OkStatus(); }
absl::Status Assign(const Text& v, std::string* f) { *f = v; return absl::OkStatus(); }
absl::Status Assign(const List& v, std::vector<std::string>* f) { *f = v; return absl::OkStatus(); }
absl::Status Assign(Bytes v, int* f) { *f = static_cast<int>(v.bytes); return absl::OkStatus(); }
absl::Status Assign(Bytes v, unsigned long* f) { *f = v.bytes; return absl::OkStatus(); }
absl::Status Assign(Duration v, absl::Duration* f) { *f = v.value; return absl::OkStatus(); }
absl::Status Assign(Seconds v, uint32_t* f) { *f = static_cast<uint32_t>(v.value); return absl::OkStatus(); }
absl::Status Assign(const List& v, std::vector<ringtrack::ListenAddress>* f) {
  f->clear();
  for (const std::string& text : v) {
    absl::StatusOr<ringtrack::ListenAddress> a = ringtrack::ParseListenAddress(text);
    if (!a.ok()) return a.status();
    f->push_back(*a);
  }
  if (f->empty()) return absl::InvalidArgumentError("at least one address is needed");
  return absl::OkStatus();
}
// The choices of OneOf() rows (already checked against the row).
absl::Status Assign(const Text& v, IoMode* f) {
  *f = v == "uring" ? IoMode::kUring
       : v == "mmsg" ? IoMode::kMmsg
       : v == "xdp"  ? IoMode::kXsk  // AF_XDP on the one --xdp interface
                     : IoMode::kAuto;
  return absl::OkStatus();
}
absl::Status Assign(const Text& v, ringtrack::XdpMode* f) {
  *f = v == "native"                    ? ringtrack::XdpMode::kNative
       : v == "generic" || v == "skb" ? ringtrack::XdpMode::kGeneric
                                        : ringtrack::XdpMode::kAuto;
  return absl::OkStatus();
}
absl::Status Assign(const Text& v, ringtrack::AccessList::Mode* f) {
  *f = v == "deny" ? ringtrack::AccessList::Mode::kDeny
                   : ringtrack::AccessList::Mode::kAllow;
  return absl::OkStatus();
}
absl::Status Assign(const Text& v, bool* f) {  // on|off
  *f = v == "on";
  return absl::OkStatus();
}

// The row's check of a value: its range, or its choices.
absl::Status Check(const setting::Info& s, Int v) { return setting::CheckValue(s, static_cast<double>(v)); }
absl::Status Check(const setting::Info& s, Real v) { return setting::CheckValue(s, v); }
absl::Status Check(const setting::Info& s, Bytes v) { return setting::CheckValue(s, static_cast<double>(v.bytes)); }
absl::Status Check(const setting::Info& s, Duration v) {
  return setting::CheckValue(s, absl::ToDoubleSeconds(v.value));
}
absl::Status Check(const setting::Info& s, Seconds v) { return setting::CheckValue(s, static_cast<double>(v.value)); }
absl::Status Check(const setting::Info& s, const Text& v) { return setting::CheckChoice(s, v); }
absl::Status Check(const setting::Info&, Bool) { return absl::OkStatus(); }
absl::Status Check(const setting::Info&, const List&) { return absl::OkStatus(); }

template <class T, class F>
void Store(absl::string_view name, const T& value, F* field) {
  const setting::Info& s = SettingNamed(name);
  if (absl::Status c = Check(s, value); !c.ok()) BadFlag(std::string(c.message()));
  if (absl::Status a = Assign(value, field); !a.ok()) {
    BadFlag(absl::StrCat("--", name, ": ", a.message()));
  }
}

// What one row's value means depends on another's, or on the host: checked
// and derived after every row is stored.
void FinishConfig(DaemonConfig* d) {
  ServerConfig& c = d->server;
  if (c.workers == 0) {
    c.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (c.table.peer_timeout_s == 0) {  // 2 × interval, within the row's range
    c.table.peer_timeout_s = std::min<uint32_t>(
        2 * c.tracker.interval_s,
        static_cast<uint32_t>(SettingNamed("peer_timeout").values.max));
  }
  // IPv6 replies keep TrackerConfig's cap, so that a reply fits in 1 280
  // bytes; --max_numwant may lower it.
  c.tracker.max_numwant_v6 =
      std::min(kDefaults.server.tracker.max_numwant_v6, c.tracker.max_numwant_v4);
  if (c.tracker.default_numwant > c.tracker.max_numwant_v4) {
    BadFlag(absl::StrCat("--default_numwant must be 0..--max_numwant (",
                         c.tracker.max_numwant_v4, "), not ", c.tracker.default_numwant));
  }
  const uint64_t host = ringtrack::PhysicalMemoryBytes();
  if (c.max_memory == 0) {
    c.max_memory = ringtrack::DefaultMemoryBudgetBytes();
  } else if (host != 0 && c.max_memory > host) {
    BadFlag(absl::StrFormat(
        "--max_memory %s (%.1f GiB) is more than this host's memory (%.1f GiB): "
        "the budget must fit in it; set it lower, or leave it empty for half "
        "of it", ringtrack::FormatByteSize(c.max_memory),
        static_cast<double>(c.max_memory) / (1 << 30),
        static_cast<double>(host) / (1 << 30)));
  }
  if (!IsPowerOfTwo(c.uring.buffers_per_socket)) {
    BadFlag(absl::StrCat("--ring_buffers must be a power of two from 64 to 32768, not ",
                         c.uring.buffers_per_socket));
  }
  c.uring.sq_entries = std::min(256u, c.uring.buffers_per_socket);
  c.uring.cq_entries = 4 * c.uring.sq_entries;
  if (c.io == IoMode::kXsk && c.xdp_interfaces.size() != 1) {
    BadFlag("--io xdp needs exactly one --xdp interface (its queue 0 is served)");
  }
  c.metrics_host.clear();
  c.metrics_port = 0;
  if (const std::string& m = d->metrics; !m.empty()) {
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
    if (host == "0.0.0.0" || host == "::") {
      WarnFlag("metrics", absl::StrCat(
          m, " serves the metrics on every address: anyone who reaches port ",
          port, " reads the tracker's counters; bind 127.0.0.1 or a private "
          "address unless a firewall guards it"));
    }
    c.metrics_host = host;
    c.metrics_port = port;
  }
  c.http_listen.clear();
  for (const std::string& text : d->http_listen) {
    absl::StatusOr<ringtrack::ListenAddress> a =
        ringtrack::ParseListenAddress(text);
    if (!a.ok()) BadFlag(absl::StrCat("--http_listen: ", a.status().message()));
    c.http_listen.push_back(*a);
  }
  if (c.http_max_connections_per_source > c.http_max_connections) {
    BadFlag(absl::StrCat("--http_max_connections_per_source (",
                         c.http_max_connections_per_source,
                         ") must be at most --http_max_connections (",
                         c.http_max_connections, ")"));
  }
  for (const std::string& cidr : c.http_trusted_proxies) {
    if (absl::StatusOr<ringtrack::http::Cidr> p =
            ringtrack::http::Cidr::Parse(cidr);
        !p.ok()) {
      BadFlag(absl::StrCat("--http_trusted_proxy '", cidr, "': ",
                           p.status().message(),
                           " (give ADDR/LEN, e.g. 10.0.0.0/8 or ::1/128)"));
    }
  }
  if (!c.state_file.empty() && c.state_interval > absl::ZeroDuration() &&
      c.state_interval < absl::Seconds(30)) {
    WarnFlag("state_interval", absl::StrCat(
        absl::FormatDuration(c.state_interval),
        " is short: each save writes every peer to disk (at least 30s is "
        "usual; the stop saves once more anyway)"));
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
  rl.rlim_cur =
      rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
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

// Every row's flag, checked and stored; then FinishConfig().
DaemonConfig ConfigFromFlags() {
  DaemonConfig d;
#define RT_STORE(name, type, def, values, reload, field, help) \
  Store(#name, absl::GetFlag(FLAGS_##name), &d.field);
  RT_SETTINGS(RT_STORE)
#undef RT_STORE
  FinishConfig(&d);
  return d;
}

void LogOverrides(const std::vector<std::string>& overridden, const char* when) {
  for (const std::string& o : overridden) {
    ringtrack::log::Warning("%s%s", when, o);
  }
}

// SIGHUP: makes config.network_map_path the network map (re-read, or
// dropped when empty); a bad map keeps the old one and logs why. Returns
// true iff the map in force is the one configured.
bool ReloadNetworkMap(ringtrack::Server* server, const ServerConfig& config) {
  const absl::Status m = server->ApplyNetworkMap(config);
  if (!m.ok()) {
    ringtrack::log::Error("SIGHUP: keeping the old network map (reading as %s): %s",
                          ringtrack::CurrentUserName(), m.message());
  }
  return m.ok();
}

// SIGHUP with --config: re-reads the file, validates the whole result, then
// applies what can change live and logs each change; settings that need a
// restart are logged as such. A bad file changes nothing.
void Reload(const std::string& path, const std::set<std::string>& on_command_line,
            ringtrack::Server* server) {
  const auto saved = ringtrack::SaveFlags(kSettings);
  const auto before = ringtrack::EffectiveFlags(kSettings);
  DaemonConfig next;
  std::vector<std::string> overridden;
  g_reloading = true;
  try {
    if (absl::Status s = ringtrack::ApplyConfigFile(path, kSettings, on_command_line,
                                                    &overridden);
        !s.ok()) {
      throw std::runtime_error(std::string(s.message()));
    }
    next = ConfigFromFlags();
  } catch (const std::exception& e) {
    g_reloading = false;
    ringtrack::RestoreFlags(saved);
    ringtrack::log::Error("SIGHUP: keeping the configuration in force: %s",
                          e.what());
    server->RecordReload(false);
    return;
  }
  g_reloading = false;
  LogOverrides(overridden, "SIGHUP: ");
  const auto after = ringtrack::EffectiveFlags(kSettings);
  bool restart = false;
  for (const setting::Info& s : kSettings) {
    const std::string key(s.name);
    const std::string& old = before.at(key);
    const std::string& value = after.at(key);
    if (old == value) continue;
    if (s.reload == setting::kLive) {
      ringtrack::log::Info("SIGHUP: %s %s -> %s", key, old, value);
    } else {
      ringtrack::log::Warning(
          "SIGHUP: %s changed to %s in the file; it takes effect only after "
          "a restart", key, value);
      restart = true;
    }
  }
  // The server keeps its old access list itself when the new one fails.
  const absl::Status applied = server->ApplyLive(next.server);
  const bool map_ok = ReloadNetworkMap(server, next.server);
  server->RecordReload(applied.ok() && map_ok);
  if (!applied.ok()) {
    ringtrack::log::Error("SIGHUP: keeping the old access list (reading as %s): %s",
                          ringtrack::CurrentUserName(), applied.message());
  }
  ringtrack::log::Info("SIGHUP: configuration reloaded from %s%s", path,
                       restart ? " (some changes need a restart)" : "");
}

// SIGHUP: the --config file when there is one, else the access list.
void ReloadOnSignal(const std::string& config_path, const ServerConfig& config,
                    const std::set<std::string>& on_command_line,
                    ringtrack::Server* server) {
  if (!config_path.empty()) {
    Reload(config_path, on_command_line, server);
  } else if (config.access_list_path.empty() && config.network_map_path.empty()) {
    ringtrack::log::Info("SIGHUP: nothing to reload");
  } else {
    bool ok = true;
    if (!config.access_list_path.empty()) {
      const absl::Status a = server->ReloadAccessList();
      ok = a.ok();
      if (!a.ok()) {
        ringtrack::log::Error("SIGHUP: keeping the old access list (reading as %s): %s",
                              ringtrack::CurrentUserName(), a.message());
      }
    }
    if (!config.network_map_path.empty()) {
      ok = ReloadNetworkMap(server, config) && ok;
    }
    server->RecordReload(ok);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Peer blocks (core/swarm/peer_set.h) are small and replaced on every growth
  // step; without fastbins glibc coalesces the freed ones at once, which
  // leaves fewer holes between live blocks (2 M peers: 0.5 MiB less RSS;
  // the per-thread tcache still serves the common sizes first).
  mallopt(M_MXFAST, 0);
  // libbpf's messages (the verifier's ~80-line log when it refuses the
  // program) are debug lines: in the journal, not on a terminal. A refusal
  // names the verifier's reason in its error all the same.
  ringtrack::SetLibbpfLogSink(
      [](std::string_view line) { ringtrack::log::Debug("libbpf: %s", line); });
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
    ringtrack::log::Fatal(
        "unexpected argument '%s' (flags start with --; see --help)", pos[1]);
    return ringtrack::kExitBadUsage;
  }
  if (const std::string table = absl::GetFlag(FLAGS_print_settings_table);
      !table.empty()) {
    if (table != "markdown" && table != "man") {
      ringtrack::log::Fatal("--print_settings_table must be markdown or man");
      return ringtrack::kExitBadUsage;
    }
    std::fputs((table == "man" ? setting::SettingsRoff(kSettings)
                               : setting::SettingsMarkdown(kSettings))
                   .c_str(),
               stdout);
    return ringtrack::kExitOk;
  }
  const std::set<std::string> on_command_line = CommandLineFlags(args);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (!config_path.empty()) {
    std::vector<std::string> overridden;
    if (absl::Status s = ringtrack::ApplyConfigFile(config_path, kSettings,
                                                    on_command_line, &overridden);
        !s.ok()) {
      ringtrack::log::Fatal("%s", s.message());
      return ringtrack::kExitBadUsage;
    }
    LogOverrides(overridden, "");
  }
  const DaemonConfig daemon_config = ConfigFromFlags();
  const ServerConfig& config = daemon_config.server;
  if (absl::GetFlag(FLAGS_print_config)) {
    std::fputs(ringtrack::EffectiveConfigToml(kSettings).c_str(), stdout);
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
    ringtrack::log::Fatal("%s", server.status().message());
    return ringtrack::kExitRuntimeFailure;
  }
  std::string user = daemon_config.user;
  if (user == "auto") user = geteuid() == 0 ? "nobody" : "";
  if (absl::Status s = ringtrack::DropPrivileges(user); !s.ok()) {
    ringtrack::log::Fatal("dropping privileges: %s", s.message());
    return ringtrack::kExitRuntimeFailure;
  }
  if (!config.state_file.empty()) {
    // Saving renames a temp file into place: the directory must be
    // writable by the user we now are, or every save would fail.
    const std::string dir = ringtrack::StateFileDirectory(config.state_file);
    if (access(dir.c_str(), W_OK | X_OK) != 0) {
      ringtrack::log::Fatal(
          "--state_file: directory %s is not writable by user %s (make it "
          "theirs, or choose --user)",
          dir, user.empty() ? "(current)" : user);
      return ringtrack::kExitRuntimeFailure;
    }
  }
  // All are re-read on SIGHUP as the user we now are: a file only root
  // can read would fail the first reload, not the start.
  for (const auto& [what, path] :
       {std::pair<const char*, std::string>{"config", config_path},
        {"access_list", config.access_list_path},
        {"network_map", config.network_map_path}}) {
    if (path.empty()) continue;
    if (absl::Status r = ringtrack::CheckReadableNow(what, path); !r.ok()) {
      ringtrack::log::Fatal("%s", r.message());
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
      "peer_timeout=%ds max_memory=%s xdp=%s user=%s metrics=%s http=%s "
      "config=%s key_file=%s",
      RINGTRACK_VERSION,
      absl::StrCat(config.io == IoMode::kXsk
                       ? absl::StrCat("xdp(", config.xdp_interfaces[0], " queue 0)+")
                       : "",
                   (*server)->io_path() == ringtrack::IoPath::kUring ? "uring"
                                                                     : "mmsg"),
      config.workers, absl::StrJoin(addrs, ","), config.tracker.interval_s,
      config.table.peer_timeout_s, ringtrack::log::HumanBytes(config.max_memory),
      (*server)->xdp_summary(), ringtrack::CurrentUserName(),
      (*server)->metrics_port() == 0
          ? std::string("off")
          : absl::StrCat(config.metrics_host, ":", (*server)->metrics_port()),
      http_addrs.empty() ? std::string("off") : absl::StrJoin(http_addrs, ","),
      config_path.empty() ? "none" : config_path,
      config.connection_key_file.empty() ? "none (a random key per start)"
                                         : config.connection_key_file);

  ringtrack::systemd::Notify(absl::StrCat("READY=1\nSTATUS=serving ",
                                         absl::StrJoin(addrs, ","),
                                         "\nMAINPID=", getpid()));
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;  // SIGINT, SIGTERM and SIGQUIT stop cleanly
    // systemd (Type=notify) shows the unit as reloading until READY=1,
    // which follows whether or not the reload succeeded.
    ringtrack::systemd::NotifyReloading();
    ReloadOnSignal(config_path, config, on_command_line, server->get());
    ringtrack::systemd::Notify("READY=1");
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
