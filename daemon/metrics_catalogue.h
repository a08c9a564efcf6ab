// The metrics catalogue: every series ringtrackd exports, one row each,
// the way RT_XDP_COUNTERS lists the XDP program's counters. A row is
//
//   X(id, series, type, labels, key, help)
//
//   id      the MetricId enumerator Server's wiring reports a value under;
//   series  the Prometheus name (counters end in _total, as promtool asks);
//   type    kCounter or kGauge;
//   labels  the label names, comma-separated, in the order the wiring
//           passes their values ("" for none);
//   key     the stats line's key of an unlabelled series ("" keeps it off
//           the line); a labelled sample brings its own key;
//   help    the HELP text, which README's metrics table repeats.
//
// The Prometheus exposition (HELP, TYPE and label names), the stats line and
// README's table (tests/daemon/metrics_readme_test.py checks it against
// `metrics_catalogue_dump`) all come from these rows; the request types and
// outcomes come from RT_REQUEST_TYPES and RT_OUTCOMES (core/tracker/
// tracker.h), the XDP verdicts from RT_XDP_COUNTERS. A family whose feature
// is off (--xdp, --io xdp, --state-file) reports no sample and is left out
// of the exposition.
#ifndef RINGTRACK_DAEMON_METRICS_CATALOGUE_H_
#define RINGTRACK_DAEMON_METRICS_CATALOGUE_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace ringtrack {

enum class MetricType { kCounter, kGauge };

// clang-format off
#define RT_METRICS(X)                                                        \
  /* Requests and datagrams */                                               \
  X(kRequests, "ringtrack_requests_total", kCounter,                         \
    "protocol,type,outcome,ip_version", "",                                  \
    "Requests by protocol, type (connect, announce, scrape; unknown when "   \
    "the codec refused the datagram), outcome (ok, error: answered with a "  \
    "protocol error, bad_connection_id and invalid: dropped without a "      \
    "reply) and the sender's IP version.")                                   \
  X(kDatagramsReceived, "ringtrack_datagrams_received_total", kCounter, "",  \
    "datagrams_received", "Datagrams received by the workers.")              \
  X(kRepliesSent, "ringtrack_replies_sent_total", kCounter, "",              \
    "replies_sent", "Replies the kernel accepted for sending.")              \
  X(kDropped, "ringtrack_dropped_total", kCounter, "reason", "",             \
    "Datagrams dropped without a reply, by reason: a bad connection ID, "    \
    "or why the codec refused it. Their sum is every dropped datagram "      \
    "(requests_total's outcomes bad_connection_id and invalid).")            \
  X(kReceivedBytes, "ringtrack_received_bytes_total", kCounter, "",          \
    "bytes_in", "UDP payload bytes received.")                               \
  X(kSentBytes, "ringtrack_sent_bytes_total", kCounter, "", "bytes_out",     \
    "UDP payload bytes of the replies.")                                     \
  /* Admission */                                                            \
  X(kRefused, "ringtrack_refused_total", kCounter, "kind", "",               \
    "Announces and scrapes refused with a protocol error, by kind.")         \
  X(kUnstoredPeers, "ringtrack_unstored_peers_total", kCounter, "reason",    \
    "", "Announces answered but not stored, by reason.")                     \
  X(kEvictedPeers, "ringtrack_evicted_peers_total", kCounter, "",            \
    "evicted_stale_peers",                                                   \
    "Peers removed at the memory budget before their timeout: they had "     \
    "missed their re-announce.")                                             \
  /* Below the protocol */                                                   \
  X(kSocketDrops, "ringtrack_socket_drops_total", kCounter, "",              \
    "socket_drops",                                                          \
    "Datagrams the kernel dropped because a socket's receive queue was "     \
    "full (SK_MEMINFO_DROPS, and with --io xdp the AF_XDP socket's "         \
    "rx_ring_full + rx_dropped; they never reached ringtrackd).")            \
  X(kIoEvents, "ringtrack_io_events_total", kCounter, "event", "",           \
    "I/O events below the protocol: datagrams cut to the receive buffer "    \
    "(still answered), drops and errors.")                                   \
  X(kXskFrames, "ringtrack_xsk_frames_total", kCounter, "", "xsk_frames",    \
    "Frames served from the AF_XDP socket (--io xdp).")                      \
  /* The swarms */                                                           \
  X(kTorrents, "ringtrack_torrents", kGauge, "", "torrents",                 \
    "Swarms in the table.")                                                  \
  X(kPeers, "ringtrack_peers", kGauge, "ip_version", "",                     \
    "Peers stored, by IP version.")                                          \
  X(kSeeders, "ringtrack_seeders", kGauge, "ip_version", "",                 \
    "Stored peers that are seeders, by IP version.")                         \
  X(kDownloads, "ringtrack_downloads_completed_total", kCounter, "",         \
    "downloads",                                                             \
    "Downloads announced since start (event=completed, or a stored "         \
    "leecher announcing as a seeder), once per stored peer: what the "       \
    "swarms' completed counts gained.")                                      \
  /* Memory */                                                               \
  X(kMemoryBytes, "ringtrack_memory_bytes", kGauge, "", "table_bytes",       \
    "Bytes charged to the memory budget: slot arrays, peer blocks and the "  \
    "access list.")                                                          \
  X(kMemoryBudgetBytes, "ringtrack_memory_budget_bytes", kGauge, "",         \
    "memory_budget_bytes", "The memory budget (--max-memory).")              \
  X(kResidentBytes, "ringtrack_resident_memory_bytes", kGauge, "",           \
    "rss_bytes", "Resident set size of the whole process.")                  \
  X(kTableSlots, "ringtrack_table_slots", kGauge, "", "table_slots",         \
    "Swarm slots in all sub-tables.")                                        \
  X(kTableMaxProbe, "ringtrack_table_max_probe_slots", kGauge, "",           \
    "max_probe_slots", "Longest probe run the last full sweep saw.")         \
  X(kTableTombstones, "ringtrack_table_tombstones", kGauge, "",              \
    "tombstones", "Tombstones the last full sweep saw.")                     \
  /* Access list */                                                          \
  X(kAccessListHashes, "ringtrack_access_list_hashes", kGauge, "",           \
    "access_list_hashes", "Info hashes in the access list in force.")        \
  X(kAccessListBytes, "ringtrack_access_list_bytes", kGauge, "",             \
    "access_list_bytes",                                                     \
    "Heap bytes of the access list in force (charged to the budget).")       \
  X(kAccessListLoads, "ringtrack_access_list_loads_total", kCounter, "",     \
    "access_list_loads",                                                     \
    "Access lists loaded and swapped in (at start and on reloads).")         \
  /* Locality (--network-map) */                                            \
  X(kLocalityPeers, "ringtrack_locality_peers_total", kCounter, "network",   \
    "", "Peers handed out in locality-shaped replies, by whether they are "  \
    "in the requester's own network (local) or another (remote). A reply "   \
    "that holds every eligible peer anyway is not shaped, not counted.")     \
  X(kLocalityOutsideMap, "ringtrack_locality_outside_map_announces_total",   \
    kCounter, "", "locality_outside_map_announces",                          \
    "Announces from requesters the network map does not cover (their "      \
    "replies are random).")                                                  \
  X(kNetworkMapNetworks, "ringtrack_network_map_networks", kGauge, "",       \
    "network_map_networks", "Networks in the network map in force.")         \
  X(kNetworkMapRanges, "ringtrack_network_map_ranges", kGauge,               \
    "ip_version", "", "Address ranges of the network map in force, by IP "   \
    "version (a network's adjacent prefixes make one range).")               \
  X(kNetworkMapBytes, "ringtrack_network_map_bytes", kGauge, "",             \
    "network_map_bytes",                                                     \
    "Heap bytes of the network map in force (charged to the budget).")       \
  X(kNetworkMapLoadSeconds, "ringtrack_network_map_load_seconds", kGauge,    \
    "", "network_map_load_s",                                                \
    "How long reading and building the network map in force took.")         \
  X(kNetworkMapLoads, "ringtrack_network_map_loads_total", kCounter, "",     \
    "network_map_loads",                                                     \
    "Network maps loaded and swapped in (at start and on reloads).")         \
  /* Configuration */                                                        \
  X(kConfigReloadSuccess, "ringtrack_config_last_reload_success", kGauge,    \
    "", "", "1 when the last SIGHUP reload (of the config file or the "      \
    "access list) was applied whole, 0 when it was refused and the "         \
    "settings in force were kept (the log says why); 1 from start on.")      \
  X(kConfigReloadTime, "ringtrack_config_last_reload_timestamp_seconds",     \
    kGauge, "", "",                                                          \
    "Unix time of the last successful reload (the start until one).")        \
  /* XDP */                                                                  \
  X(kXdpAttached, "ringtrack_xdp_attached_interfaces", kGauge, "",           \
    "xdp_attached", "Interfaces the kernel still has the XDP program on.")   \
  X(kXdpPackets, "ringtrack_xdp_packets_total", kCounter, "action,reason",   \
    "", "Packets the XDP program handled, by verdict and reason.")           \
  /* State file */                                                           \
  X(kStateSaves, "ringtrack_state_saves_total", kCounter, "result", "",      \
    "State file saves, by result.")                                          \
  X(kStateInterval, "ringtrack_state_interval_seconds", kGauge, "", "",     \
    "Seconds between periodic state saves (--state-interval); absent when "  \
    "only the save at stop runs. The stale-save alert compares against it.") \
  X(kStateLastSaveTime, "ringtrack_state_last_save_timestamp_seconds",       \
    kGauge, "", "",                                                          \
    "Unix time of the last successful state save (0: none yet).")           \
  X(kStateLastSaveDuration, "ringtrack_state_last_save_duration_seconds",    \
    kGauge, "", "state_last_save_s",                                         \
    "How long the last successful state save took.")        \
  X(kStateSavedPeers, "ringtrack_state_saved_peers", kGauge, "",             \
    "state_last_save_peers",                                                 \
    "Peers in the last successful state save.")                              \
  X(kStateFileHeld, "ringtrack_state_file_held", kGauge, "",                 \
    "state_file_held",                                                       \
    "1 while the file at the state path is left in place and nothing is "    \
    "saved over it until it is moved away: it could not be read at start, "  \
    "could not be kept as PATH.previous after a lossy restore, or another "  \
    "file was put there while ringtrackd ran (the log says which).")        \
  X(kStateRestoreRefused, "ringtrack_state_restore_refused_peers", kGauge,   \
    "", "state_restore_refused_peers",                                       \
    "Peers of the state file the start's restore refused for the memory "   \
    "budget or caps (the file is kept as PATH.previous).")                   \
  /* HTTP (requests are in ringtrack_requests_total{protocol="http"}) */   \
  X(kHttpConnections, "ringtrack_http_connections", kGauge, "",              \
    "http_connections_open", "HTTP connections open now (all workers).")     \
  X(kHttpConnectionsMax, "ringtrack_http_connections_max", kGauge, "",       \
    "", "The cap on open HTTP connections (--http-max-connections).")        \
  X(kHttpAccepts, "ringtrack_http_accepts_total", kCounter, "result", "",    \
    "HTTP connections accepted (accepted), refused at the total or "         \
    "per-source cap (total_cap, source_cap), or failed accepts (error).")    \
  X(kHttpResponses, "ringtrack_http_responses_total", kCounter, "class", "", \
    "HTTP responses sent, by status class (2xx, 4xx, other).")               \
  X(kHttpOutcomes, "ringtrack_http_outcomes_total", kCounter, "outcome", "", \
    "HTTP requests by what HTTP made of them: announce, scrape, failure "    \
    "(a failure reason with 200), or the error status sent.")                \
  X(kHttpCloses, "ringtrack_http_closes_total", kCounter, "reason", "",      \
    "HTTP connections closed, by reason.")                                   \
  X(kHttpBadQueries, "ringtrack_http_bad_queries_total", kCounter, "reason", \
    "", "HTTP announces and scrapes answered with a failure reason for a "   \
    "bad query, by what was wrong.")                                         \
  X(kHttpProxied, "ringtrack_http_proxied_requests_total", kCounter, "",     \
    "http_proxied",                                                          \
    "HTTP requests whose client a trusted proxy's header named.")            \
  X(kHttpReceivedBytes, "ringtrack_http_received_bytes_total", kCounter, "", \
    "http_bytes_in", "Bytes of HTTP request heads received.")                \
  X(kHttpSentBytes, "ringtrack_http_sent_bytes_total", kCounter, "",         \
    "http_bytes_out", "Bytes of HTTP responses.")                            \
  /* The process (the names every Prometheus client library uses) */         \
  X(kProcessStartTime, "process_start_time_seconds", kGauge, "", "",         \
    "Start time of the process since the Unix epoch, in seconds.")          \
  X(kProcessCpu, "process_cpu_seconds_total", kCounter, "", "cpu_seconds",   \
    "User and system CPU time the process spent, in seconds.")              \
  X(kProcessOpenFds, "process_open_fds", kGauge, "", "open_fds",             \
    "File descriptors the process holds open.")                             \
  X(kBuildInfo, "ringtrack_build_info", kGauge, "version", "",               \
    "The running version (always 1).")
// clang-format on

#define RT_METRIC_ENUMERATOR(id, series, type, labels, key, help) id,
enum class MetricId : uint16_t { RT_METRICS(RT_METRIC_ENUMERATOR) kCount };
#undef RT_METRIC_ENUMERATOR

inline constexpr size_t kMetricCount = static_cast<size_t>(MetricId::kCount);

// One row of the catalogue.
struct MetricInfo {
  std::string_view series;
  MetricType type;
  std::string_view labels;  // label names, comma-separated
  std::string_view key;     // stats-line key of an unlabelled series
  std::string_view help;
};

#define RT_METRIC_INFO(id, series, type, labels, key, help) \
  MetricInfo{series, MetricType::type, labels, key, help},
inline constexpr MetricInfo kMetricCatalogue[] = {RT_METRICS(RT_METRIC_INFO)};
#undef RT_METRIC_INFO
static_assert(std::size(kMetricCatalogue) == kMetricCount);

inline constexpr const MetricInfo& InfoOf(MetricId id) {
  return kMetricCatalogue[static_cast<size_t>(id)];
}

// How many label names a row has.
inline constexpr size_t LabelCount(const MetricInfo& m) {
  if (m.labels.empty()) return 0;
  size_t n = 1;
  for (char c : m.labels) n += c == ',';
  return n;
}

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_METRICS_CATALOGUE_H_
