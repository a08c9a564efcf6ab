// Server: ringtrackd's process-level wiring. It owns the swarm table, the
// connection-ID keys, the sockets (one SO_REUSEPORT socket per worker per
// listen address), the worker threads (one io_uring or recvmmsg loop each)
// and the housekeeping thread (clock, key rotation, incremental peer
// expiry, periodic stats). The loops only move bytes between the kernel
// and core/.
#ifndef RINGTRACK_DAEMON_SERVER_H_
#define RINGTRACK_DAEMON_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bpf/xdp_loader.h"
#include "core/base/clock.h"
#include "core/udp/connection_id.h"
#include "core/base/memory_budget.h"
#include "core/base/quiescence.h"
#include "core/swarm/source_limiter.h"
#include "core/swarm/swarm_table.h"
#include "core/tracker/tracker.h"
#include "core/http/http_tracker.h"
#include "core/udp/udp_tracker.h"
#include "daemon/http_conn_table.h"
#include "daemon/http_listener.h"
#include "daemon/metrics.h"
#include "daemon/net.h"
#include "daemon/state_file.h"
#include "daemon/uring_loop.h"
#include "daemon/worker.h"

namespace ringtrack {

enum class IoMode { kAuto, kUring, kMmsg, kXsk };

struct ServerConfig {
  std::vector<ListenAddress> listen;
  int workers = 1;
  IoMode io = IoMode::kAuto;
  // core's own configurations, passed whole: the caps and the peer timeout
  // (table), the per-source rate of new swarms (limiter). Server fills in
  // only what it owns: the seeds, the budget and the limiter it points to.
  TrackerConfig tracker;
  SwarmTableConfig table;
  SourceLimiterConfig limiter;
  // Bytes for the swarm table and every peer set (see core/base/memory_budget.h).
  size_t max_memory = size_t{1} << 30;
  std::string connection_key_file;  // empty: random key at start
  // Create the key file with a random key when it is missing; false: a
  // missing key file fails Create() (instances that must share a key made
  // elsewhere).
  bool connection_key_create = true;
  absl::Duration stats_interval = absl::Seconds(60);  // 0: no periodic line
  absl::Duration sweep_period = absl::Seconds(60);    // one full table pass
  SocketOptions socket;
  UringOptions uring;
  // XDP: interfaces to attach to (none: no XDP), how, and what it does.
  std::vector<std::string> xdp_interfaces;
  XdpMode xdp_mode = XdpMode::kAuto;
  bool xdp_connect = true;
  uint32_t xdp_rate_limit_pps = 0;
  // Run without XDP (with a warning) when it cannot be loaded or attached.
  bool xdp_optional = false;
  // Access list (empty path: serve every info hash). Read by Create(),
  // which fails naming the file and line when it cannot read or parse it.
  std::string access_list_path;
  AccessList::Mode access_mode = AccessList::Mode::kAllow;
  // Network map for locality-aware selection (empty: none, every reply
  // random): a libloc database or a text map, told apart by content
  // (core/netmap/). The share is tracker.locality_share.
  std::string network_map_path;
  // State file (empty: none): locked and restored at Create(), saved every
  // state_interval and at Stop(). strict_state: a file that is refused or
  // cannot be read fails Create() and is left where it is, instead of
  // starting empty.
  std::string state_file;
  absl::Duration state_interval = absl::Minutes(5);
  bool strict_state = false;
  // HTTP tracker (README "HTTP server"): off, or on `http_listen` (empty:
  // the same addresses and ports as `listen`, port 0 there meaning the
  // port UDP got).
  bool http = true;
  std::vector<ListenAddress> http_listen;
  uint32_t http_max_connections = 32768;         // all workers
  uint32_t http_max_connections_per_source = 128;
  // (README "HTTP server"; Server converts them to the tables' ms.)
  absl::Duration http_head_timeout = absl::Seconds(10);
  absl::Duration http_idle_timeout = absl::Seconds(60);
  absl::Duration http_send_timeout = absl::Seconds(10);
  uint32_t http_max_requests = 10000;            // per connection
  // --http-trusted-proxy CIDRs, as given (parsed by core/http).
  std::vector<std::string> http_trusted_proxies;
  // A fixed responder instead of the tracker (benchmarks); not owned.
  HttpResponder* http_responder = nullptr;
  // Serve GET /metrics on this address ("" = off).
  std::string metrics_host;
  int metrics_port = 0;
};

class Server {
 public:
  // Binds every socket and prepares the state; starts no thread. A listen
  // address in use fails with kAlreadyExists; a state file another process
  // holds, with kFailedPrecondition naming its pid.
  static absl::StatusOr<std::unique_ptr<Server>> Create(
      const ServerConfig& config);
  ~Server();

  // Has the housekeeping thread call `ping` every `every` (systemd's
  // watchdog: it only pings while housekeeping runs). REQUIRES: before Start().
  void SetWatchdog(std::function<void()> ping, absl::Duration every);

  // Applies the settings that may change while serving (interval,
  // numwant, caps, peer timeout, the per-source torrent rate, the XDP rate
  // limit, the access list, which is re-read) from `next`; the others are
  // ignored (they need a restart). The rows of daemon/settings.h marked
  // kLive are these.
  // Errors come from the access list, whose old version then stays.
  absl::Status ApplyLive(const ServerConfig& next);

  // Re-reads the access list file (SIGHUP). On error the old list stays in
  // force and the error is returned (it names the file and line). Returns
  // once the replaced list is freed: after the workers' grace period
  // (core/base/quiescence.h), about one batch. The list is charged to the
  // memory budget; one larger than half of it is refused, so that the old
  // and the new list together fit in it.
  // REQUIRES: one caller at a time (the signal-handling thread).
  absl::Status ReloadAccessList();

  // Makes next.network_map_path the network map (SIGHUP with --config):
  // re-reads it (ReloadNetworkMap()), or drops the map when the path is
  // empty. On error the map in force, and its path, stay.
  absl::Status ApplyNetworkMap(const ServerConfig& next);

  // Re-reads the network map file (SIGHUP), as ReloadAccessList() does the
  // access list: on error (it names FILE:LINE for a text map) the old map
  // stays in force; otherwise the new one is swapped in and the old one
  // freed after the workers' grace period. Charged to the memory budget;
  // a map larger than half of it is refused.
  // REQUIRES: one caller at a time (the signal-handling thread).
  absl::Status ReloadNetworkMap();

  // Records how a SIGHUP reload ended (exported as
  // ringtrack_config_last_reload_success and its timestamp).
  void RecordReload(bool ok);

  // Starts the workers, the housekeeping thread and (with a state file)
  // the state saver thread.
  void Start();
  // Asks every thread to stop and joins them (within ~200 ms), then saves
  // the state file once more if there is one (the first call only).
  // Returns that save's error, or an error when it was skipped because the
  // state file is held (see RestoreState()); later calls return OK.
  absl::Status Stop();

  IoPath io_path() const { return io_path_; }
  // "off", or the interfaces and modes XDP runs on.
  const std::string& xdp_summary() const { return xdp_summary_; }
  // The addresses actually bound (port 0 resolved), one per listen address.
  const std::vector<ListenAddress>& bound() const { return bound_; }
  // The HTTP addresses bound (none with HTTP off).
  const std::vector<ListenAddress>& http_bound() const { return http_bound_; }
  // The metrics port actually bound (0: no --metrics).
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  // Every counter and gauge, wired to the rows of daemon/metrics_catalogue.h.
  std::vector<MetricSample> Samples() const;
  // The non-zero totals as space-separated key=value pairs, units in the
  // key names (the final line at exit).
  std::string StatsLine() const;
  // The same, in Prometheus' text exposition format.
  std::string Prometheus() const;

 private:
  explicit Server(const ServerConfig& config, MasterKey key);
  absl::Status SetUpXdp();
  // Binds the HTTP listeners (one per worker per address) and sets up what
  // the workers' connection tables share.
  // Binds the UDP sockets of every worker and, with HTTP on, its TCP
  // listeners (SetUpHttp()).
  absl::Status BindListeners();
  absl::Status SetUpHttp();
  // The HTTP counters of every worker, in the one metrics list.
  void AddHttpSamples(MetricSamples* v) const;
  void RunWorker(size_t index, WorkerCore* core);
  void RunHousekeeping();
  void RunStateSaver();
  // Copies the access list in force into the XDP program (with --xdp).
  void MirrorAccessList();
  // Makes `list` the access list in force, and frees the one it replaces
  // (and releases its budget charge) after the workers' grace period,
  // which it returns.
  absl::Duration SwapAccessList(std::unique_ptr<const AccessList> list);
  // The same for the network map (nullptr: none).
  absl::Duration SwapNetworkMap(std::unique_ptr<const NetworkMap> map);
  // Waits until no worker can still hold a pointer replaced before the
  // call (core/base/quiescence.h); returns how long that took.
  absl::Duration AwaitGracePeriod();
  // Adds the kernel's receive-queue drops on every socket since the last
  // call to socket_drops_ (housekeeping thread only).
  void CountSocketDrops();
  // Restores the state file at start (Create()); errors only when strict.
  // Without --strict-state a file whose contents were refused is set
  // aside; one that could not be read (or set aside, or kept as
  // PATH.previous after a lossy restore) is held: left in place and not
  // saved over (HoldStateFile()).
  absl::Status RestoreState();
  // Logs and exports that the state file stays where it is and no save
  // replaces it until an operator moves it away (or restarts).
  // `restored_nothing`: the log says the daemon started empty.
  void HoldStateFile(absl::string_view why, bool restored_nothing);
  // After a restore that refused peers: keeps the file as PATH.previous
  // (or holds it when that fails), logs the loss and exports it.
  void KeepLossyStateFile(const StateLoadResult& r);
  // Returns true iff a save may put a snapshot at the state path: nothing
  // is there (a held file that an operator moved away is released, logged),
  // or what is there is the snapshot this daemon restored or last saved.
  // Any other file there is held (HoldStateFile()): a save never replaces
  // a file this daemon did not write or restore.
  bool MayReplaceStateFile();
  // Saves the state file now and logs the result; an error when the save
  // failed or the file is held.
  absl::Status SaveStateNow(const char* why);

  const ServerConfig config_;
  CoarseClock clock_;
  ConnectionIds ids_;
  MemoryBudget budget_;
  SourceLimiter limiter_;
  SwarmTable table_;
  Tracker tracker_;
  UdpTracker udp_tracker_;  // the BEP 15 front end over tracker_
  // One reader slot per worker: [0] the AF_XDP loop's with --io xdp, then
  // one per socket worker, in the order of cores_.
  Quiescence quiescence_;
  // The access list in force: its bytes (charged to budget_) and hashes,
  // and how many lists were swapped in. Written only by SwapAccessList(),
  // read by Samples() (relaxed: each is a number on its own).
  std::atomic<size_t> access_bytes_{0};
  std::atomic<size_t> access_hashes_{0};
  std::atomic<uint64_t> access_loads_{0};
  // The network map in force: its bytes (charged to budget_), networks,
  // flattened ranges per family, its last load time, and how many maps
  // were swapped in. Written only by SwapNetworkMap()/ReloadNetworkMap(),
  // read by Samples() (relaxed: each is a number on its own).
  std::atomic<size_t> map_bytes_{0};
  std::atomic<size_t> map_networks_{0};
  std::atomic<size_t> map_ranges_v4_{0};
  std::atomic<size_t> map_ranges_v6_{0};
  std::atomic<double> map_load_seconds_{0};
  std::atomic<uint64_t> map_loads_{0};
  // The last reload's result and the Unix time of the last good one (the
  // start until one); written by RecordReload(), read by Samples().
  std::atomic<bool> reload_ok_{true};
  std::atomic<int64_t> reload_unix_{absl::ToUnixSeconds(absl::Now())};
  // Immutable after construction.
  double process_start_s_ = 0;
  IoPath io_path_ = IoPath::kMmsg;
  std::atomic<bool> stop_{false};
  std::vector<ListenAddress> bound_;
  std::vector<std::vector<UniqueFd>> sockets_;  // [worker][listen address]
  // HTTP: the listeners ([worker][http address]), what every worker's
  // connection table shares, and the addresses bound.
  std::vector<std::vector<UniqueFd>> http_sockets_;
  std::unique_ptr<HttpAdmission> http_admission_;
  std::unique_ptr<HttpTracker> http_tracker_;  // the HTTP front end over tracker_
  std::unique_ptr<HttpShared> http_shared_;
  std::vector<ListenAddress> http_bound_;
  // The kernel's 32-bit drop count of each socket (flattened like
  // sockets_) when CountSocketDrops() last read it, and the 64-bit total
  // it follows (read by Samples(), relaxed).
  std::vector<uint32_t> socket_drops_seen_;
  std::atomic<uint64_t> socket_drops_{0};
  std::vector<std::unique_ptr<WorkerCore>> cores_;
  std::vector<std::thread> threads_;
  std::unique_ptr<XdpProgram> xdp_;  // detaches in its destructor
  // --io xdp (experiment): worker 0's AF_XDP loop, made before the drop.
  std::unique_ptr<class XskLoop> xsk_;
  std::unique_ptr<MetricsServer> metrics_;
  // The access list in force; changed only by ApplyLive() (main thread).
  std::string access_path_;
  AccessList::Mode access_mode_ = AccessList::Mode::kAllow;
  // The network map's path; changed only by ApplyNetworkMap() (main thread).
  std::string map_path_;
  std::function<void()> watchdog_ping_;  // set before Start(), then read-only
  absl::Duration watchdog_every_ = absl::InfiniteDuration();
  std::string xdp_summary_ = "off";
  // State saves: counted by the saver thread (or Stop() after joining it),
  // read by Samples().
  std::atomic<uint64_t> state_saves_ok_{0};
  std::atomic<uint64_t> state_saves_failed_{0};
  std::atomic<int64_t> state_last_save_unix_{0};
  std::atomic<double> state_last_save_seconds_{0};
  std::atomic<uint64_t> state_last_peers_{0};
  // Held from Create() on: no other process writes the state file.
  std::optional<StateFileLock> state_lock_;
  // True while the file at the state path is held (not saved over); set by
  // Create(), cleared by the saver thread (or Stop() after joining it),
  // read by Samples(). state_held_why_ is written only while no saver
  // thread runs or by that thread.
  std::atomic<bool> state_held_{false};
  std::string state_held_why_;
  // The file at the state path this daemon restored or last saved
  // (nullopt: none); set by Create(), then by the saver thread (or Stop()
  // after joining it) only.
  std::optional<FileIdentity> state_file_id_;
  // Peers the start's restore refused for the budget or caps; set by
  // Create(), then read-only.
  uint64_t state_restore_refused_ = 0;
  bool started_ = false;
  bool final_saved_ = false;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_SERVER_H_
