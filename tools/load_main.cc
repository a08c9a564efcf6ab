// ringtrack-load: a closed-loop load generator for any UDP (BEP 15) or
// HTTP (BEP 3, BEP 48) tracker.
//   ringtrack-load udp://127.0.0.1:6969 --threads 1 --duration 10s
//   ringtrack-load http://127.0.0.1:6969/announce [--http_keepalive]
// Prints a progress line every second and a summary at the end (--json for
// machines), and exits 1 when the run failed (FailureOf says when). See
// tools/load_generator.h for how peers are simulated.
#include <arpa/inet.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/cli/command_line.h"
#include "core/http/client.h"
#include "tools/json.h"
#include "tools/load_generator.h"

ABSL_FLAG(int, threads, 1, "Load threads, each with its own socket.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long to run.");
ABSL_FLAG(uint32_t, torrents, 100000, "Distinct info hashes.");
ABSL_FLAG(double, zipf, 1.0,
          "Popularity skew: torrent rank r is picked ∝ 1/(r+1)^zipf; 0 = "
          "uniform.");
ABSL_FLAG(uint32_t, peers, 1000000, "Simulated peers.");
ABSL_FLAG(uint32_t, torrents_per_peer, 1,
          "Torrents each simulated peer is in (drawn once by --zipf "
          "popularity); announces refresh those entries. 0: every announce "
          "draws a torrent afresh, so nearly every announce adds an entry "
          "(an insert-only load).");
ABSL_FLAG(double, seeders, 0.3, "Share of simulated peers that are seeders.");
ABSL_FLAG(double, stopped, 0,
          "Share of announces sent with event=stopped (peer churn).");
ABSL_FLAG(uint32_t, torrent_offset, 0,
          "Shifts the set of info hashes: torrent r is hash number r + N, so "
          "successive runs with growing N bring new torrents.");
ABSL_FLAG(std::string, mix, "0:90:10",
          "Request weights connect:announce:scrape (connects that connection "
          "IDs need are sent regardless; HTTP has no connects and ignores "
          "the first weight).");
ABSL_FLAG(int, numwant, 50, "numwant in announces.");
ABSL_FLAG(uint32_t, scrape_hashes, 1, "Info hashes per scrape (1..74).");
ABSL_FLAG(std::string, family, "",
          "v4 or v6 (default: the target address's family).");
ABSL_FLAG(std::string, source_base, "127.1.0.1",
          "First IPv4 source address; --sources counts up from it. Each must "
          "be local to this host (e.g. a route 'local A.B.0.0/16 dev lo').");
ABSL_FLAG(uint32_t, sources, 256,
          "Distinct IPv4 source addresses (127.1.0.1 upward, chosen per "
          "datagram with IP_PKTINFO, or bound per connection over HTTP); "
          "IPv6 always uses ::1.");
ABSL_FLAG(uint32_t, window, 256,
          "Outstanding requests per thread (≤ 65536); over HTTP, each is a "
          "connection.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(1),
          "A request unanswered this long counts as a timeout.");
ABSL_FLAG(bool, fill, false,
          "Announce every peer once to each of its --torrents_per_peer "
          "torrents (with 0: peer i once to torrent i mod --torrents), event "
          "started, then stop: fills a tracker before a measurement.");
ABSL_FLAG(std::string, write_info_hashes, "",
          "Write the hex info hashes of all --torrents to this file (e.g. an "
          "opentracker whitelist) and exit.");
ABSL_FLAG(bool, flood_forged, false,
          "Open loop: send announces with made-up connection IDs as fast as "
          "possible and expect no replies (a forged-ID flood).");
ABSL_FLAG(double, max_error_rate, 0.01,
          "The run fails (exit 1) when more than this share of replies are "
          "BEP 15 error replies (0..1; 0.01 = 1 %). A run also fails when "
          "nothing is answered at all.");
ABSL_FLAG(bool, http_keepalive, false,
          "http:// targets: keep each connection open for request after "
          "request (until the server closes it) instead of a new connection "
          "per request.");
ABSL_FLAG(bool, json, false, "Print the summary as JSON.");
ABSL_FLAG(bool, quiet, false, "No progress lines.");

namespace {

using namespace ringtrack;

[[noreturn]] void BadFlag(const std::string& m) {
  std::fprintf(stderr, "ringtrack-load: %s\n", m.c_str());
  std::exit(kExitBadUsage);
}

LoadConfig ConfigFromFlags(const std::string& target_spec) {
  LoadConfig c;
  std::optional<AddressFamily> fam;
  const std::string f = absl::GetFlag(FLAGS_family);
  if (f == "v4") {
    fam = AddressFamily::kV4;
  } else if (f == "v6") {
    fam = AddressFamily::kV6;
  } else if (!f.empty()) {
    BadFlag("--family must be v4 or v6");
  }
  absl::StatusOr<TrackerTarget> t = ResolveTarget(target_spec, fam);
  if (!t.ok()) {
    if (absl::IsUnavailable(t.status())) {  // the resolver failed: runtime
      std::fprintf(stderr, "ringtrack-load: %s\n",
                   std::string(t.status().message()).c_str());
      std::exit(kExitRuntimeFailure);
    }
    BadFlag(std::string(t.status().message()));
  }
  if (fam && t->family() != *fam)
    BadFlag("the target has no address of --family");
  c.target = *t;
  c.threads = absl::GetFlag(FLAGS_threads);
  if (c.threads < 1 || c.threads > 64) BadFlag("--threads must be 1..64");
  c.duration = absl::GetFlag(FLAGS_duration);
  if (c.duration <= absl::ZeroDuration()) BadFlag("--duration must be > 0");
  c.torrents = absl::GetFlag(FLAGS_torrents);
  if (c.torrents < 1 || c.torrents > (1u << 26))
    BadFlag("--torrents must be 1..2^26");
  c.zipf = absl::GetFlag(FLAGS_zipf);
  if (c.zipf < 0 || c.zipf > 5) BadFlag("--zipf must be 0..5");
  c.peers = absl::GetFlag(FLAGS_peers);
  if (c.peers < 1) BadFlag("--peers must be at least 1");
  c.torrents_per_peer = absl::GetFlag(FLAGS_torrents_per_peer);
  if (c.torrents_per_peer > 64) BadFlag("--torrents_per_peer must be 0..64");
  c.stopped_share = absl::GetFlag(FLAGS_stopped);
  if (c.stopped_share < 0 || c.stopped_share > 1) BadFlag("--stopped must be 0..1");
  c.torrent_offset = absl::GetFlag(FLAGS_torrent_offset);
  c.seeder_share = absl::GetFlag(FLAGS_seeders);
  if (c.seeder_share < 0 || c.seeder_share > 1)
    BadFlag("--seeders must be 0..1");
  std::vector<std::string> w = absl::StrSplit(absl::GetFlag(FLAGS_mix), ':');
  double weights[3];
  if (w.size() != 3) BadFlag("--mix must be CONNECT:ANNOUNCE:SCRAPE");
  for (int i = 0; i < 3; ++i) {
    char* end = nullptr;
    weights[i] = std::strtod(w[i].c_str(), &end);
    if (end == w[i].c_str() || *end != '\0' || weights[i] < 0) {
      BadFlag("--mix weights must be non-negative numbers");
    }
  }
  if (weights[0] + weights[1] + weights[2] <= 0) BadFlag("--mix is all zero");
  c.connect_weight = weights[0];
  c.announce_weight = weights[1];
  c.scrape_weight = weights[2];
  c.numwant = absl::GetFlag(FLAGS_numwant);
  c.scrape_hashes = absl::GetFlag(FLAGS_scrape_hashes);
  if (c.scrape_hashes < 1 || c.scrape_hashes > 74) {
    BadFlag("--scrape_hashes must be 1..74");
  }
  c.sources = absl::GetFlag(FLAGS_sources);
  {
    in_addr a{};
    if (inet_pton(AF_INET, absl::GetFlag(FLAGS_source_base).c_str(), &a) != 1) {
      BadFlag("--source_base must be an IPv4 address");
    }
    c.source_base = ntohl(a.s_addr);
  }
  if (c.sources < 1 || c.sources > 65000) BadFlag("--sources must be 1..65000");
  const uint32_t srcs = c.target.family() == AddressFamily::kV6 ? 1 : c.sources;
  if (c.peers / srcs > 55000) {
    BadFlag(absl::StrFormat(
        "--peers %d needs more --sources: each source address carries at "
        "most 55000 peers (distinct ports)",
        c.peers));
  }
  c.window = absl::GetFlag(FLAGS_window);
  if (c.window < 1 || c.window > 65536) BadFlag("--window must be 1..65536");
  if (c.target.http()) {
    // Over HTTP every request in flight holds a socket: raise the soft
    // open-file limit to the hard one, and say so if even that is short.
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    const uint64_t need = uint64_t{c.window} * uint64_t(c.threads) + 64;
    if (need > lim.rlim_cur) {
      BadFlag(absl::StrFormat(
          "--window %d × --threads %d connections need %d open files, above "
          "this process's limit of %d (ulimit -n)",
          c.window, c.threads, need, uint64_t{lim.rlim_cur}));
    }
  }
  c.timeout = absl::GetFlag(FLAGS_timeout);
  if (c.timeout <= absl::ZeroDuration()) BadFlag("--timeout must be > 0");
  if (c.target.http()) {
    c.http_mode = absl::GetFlag(FLAGS_http_keepalive)
                      ? HttpConnectionMode::kKeepAlive
                      : HttpConnectionMode::kNewConnection;
    std::string scrape_path;
    if (c.scrape_weight > 0 &&
        !http::ScrapePathOf(c.target.url.path, &scrape_path)) {
      BadFlag("the URL's path " + c.target.url.path +
              " has no scrape path (its last segment does not begin with "
              "'announce'): use --mix with no scrapes, e.g. 0:100:0");
    }
    if (absl::GetFlag(FLAGS_flood_forged)) {
      BadFlag("--flood_forged is for udp:// targets");
    }
    if (c.scrape_hashes > http::kMaxScrapeHashes) {
      BadFlag(absl::StrFormat("--scrape_hashes must be 1..%d over HTTP",
                              http::kMaxScrapeHashes));
    }
  } else if (absl::GetFlag(FLAGS_http_keepalive)) {
    BadFlag("--http_keepalive is for http:// targets");
  }
  c.fill = absl::GetFlag(FLAGS_fill);
  c.flood_forged = absl::GetFlag(FLAGS_flood_forged);
  if (c.fill && c.flood_forged)
    BadFlag("--fill and --flood_forged exclude each other");
  return c;
}

const char* kTypeNames[] = {"connect", "announce", "scrape"};

// Answers and error replies over all request types.
struct Replies {
  uint64_t answered = 0;
  uint64_t errors = 0;
  uint64_t total() const { return answered + errors; }
  // The share of replies that are errors (0 without replies).
  double error_rate() const {
    return total() == 0 ? 0.0 : double(errors) / double(total());
  }
};

Replies CountReplies(const LoadGenerator& gen) {
  Replies r;
  for (int t = 0; t < kNumReqTypes; ++t) {
    r.answered += gen.Answered(static_cast<RequestType>(t));
    r.errors += gen.Errors(static_cast<RequestType>(t));
  }
  return r;
}

uint64_t TotalSent(const LoadGenerator& gen) {
  uint64_t n = 0;
  for (int t = 0; t < kNumReqTypes; ++t) {
    n += gen.Sent(static_cast<RequestType>(t));
  }
  return n;
}

// Why the run failed, or "" if it did not. A forged flood expects no
// replies, so only a run that asks for answers can fail.
std::string FailureOf(const LoadGenerator& gen, const LoadConfig& config,
                      double max_error_rate) {
  if (config.flood_forged) return "";
  const Replies r = CountReplies(gen);
  if (r.total() == 0) {
    return absl::StrFormat(
        "no replies from %s (%d requests sent, %d timed out, %d broken "
        "connections): is a tracker listening there?",
        config.target.text, TotalSent(gen), gen.Timeouts(), gen.Broken());
  }
  if (r.answered == 0) {
    return absl::StrFormat("every one of %d replies was an error", r.errors);
  }
  if (r.error_rate() > max_error_rate) {
    return absl::StrFormat(
        "%.2f %% of replies were errors, above --max_error_rate %.2f %%",
        100 * r.error_rate(), 100 * max_error_rate);
  }
  if (gen.FillStalled()) {
    return absl::StrFormat(
        "the fill stopped after %d of %d entries: no reply for %d timeouts",
        gen.FillProgress(),
        uint64_t{config.peers} * std::max(1u, config.torrents_per_peer),
        LoadGenerator::kFillStallTimeouts);
  }
  return "";
}

// "udp", "http-close" (a new connection per request) or "http-keepalive".
const char* ModeName(const LoadConfig& config) {
  if (!config.target.http()) return "udp";
  return config.http_mode == HttpConnectionMode::kKeepAlive ? "http-keepalive"
                                                            : "http-close";
}

std::string ErrorsByMessageJson(const ErrorMessageCounts& counts) {
  std::string out = "{";
  for (const auto& [message, n] : counts) {
    absl::StrAppendFormat(&out, "%s%s:%d", out.size() > 1 ? "," : "",
                          JsonQuote(message), n);
  }
  return out + "}";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "load generator for UDP (BEP 15) and HTTP (BEP 3) trackers.\n"
      "Usage: ringtrack-load URL [flags]\n"
      "URL: udp://HOST:PORT[/announce], HOST:PORT (UDP) or "
      "http://HOST[:PORT]/announce; [V6] for an IPv6 host.\n"
      "Exit codes: 0 the run passed, 1 it failed (no replies, or errors above "
      "--max_error_rate), 2 bad arguments.");
  ringtrack::HelpShowsFlagsFrom("tools/load_main.cc",
                                "ringtrack-load " RINGTRACK_VERSION);
  std::deque<std::string> storage;
  std::vector<char*> args = ringtrack::NormalizeFlags(argc, argv, {}, &storage);
  std::vector<char*> pos = ringtrack::ParseCommandLineOrExit(args);

  if (const std::string path = absl::GetFlag(FLAGS_write_info_hashes);
      !path.empty()) {
    std::ofstream out(path);
    if (!out) {
      std::fprintf(stderr, "ringtrack-load: --write_info_hashes: cannot write %s: %s\n",
                   path.c_str(), std::strerror(errno));
      return kExitRuntimeFailure;
    }
    for (uint32_t r = 0; r < absl::GetFlag(FLAGS_torrents); ++r) {
      out << InfoHashHex(LoadInfoHash(r + absl::GetFlag(FLAGS_torrent_offset)))
          << "\n";
    }
    return 0;
  }
  if (pos.size() != 2)
    BadFlag("usage: ringtrack-load URL [flags] (--help)");
  const LoadConfig config = ConfigFromFlags(pos[1]);
  const double max_error_rate = absl::GetFlag(FLAGS_max_error_rate);
  if (!(max_error_rate >= 0 && max_error_rate <= 1)) {
    BadFlag("--max_error_rate must be 0..1 (a share of replies: 0.01 = 1 %)");
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const bool quiet = absl::GetFlag(FLAGS_quiet);  // progress goes to stderr

  LoadGenerator gen(config);
  const absl::Time start = absl::Now();
  gen.Start();
  uint64_t last_answered = 0, last_replied = 0, last_sent = 0;
  absl::Time last = start;
  while (!gen.Done()) {
    absl::SleepFor(absl::Milliseconds(100));
    const absl::Time now = absl::Now();
    if (now - last < absl::Seconds(1) && !gen.Done()) continue;
    const Replies replies = CountReplies(gen);
    const uint64_t answered = replies.answered, replied = replies.total();
    const uint64_t sent = TotalSent(gen);
    const double secs = absl::ToDoubleSeconds(now - last);
    const double loss = sent > last_sent
                            ? 100.0 * (1.0 - double(replied - last_replied) /
                                                 double(sent - last_sent))
                            : 0.0;
    if (!quiet) {
      std::fprintf(
          stderr,
          "t=%5.1fs  sent/s=%.0f  responses/s=%.0f  loss=%.2f%%  "
          "errors=%llu  timeouts=%llu%s%s\n",
          absl::ToDoubleSeconds(now - start), double(sent - last_sent) / secs,
          double(answered - last_answered) / secs, std::max(0.0, loss),
          (unsigned long long)gen.Errors(), (unsigned long long)gen.Timeouts(),
          config.target.http()
              ? absl::StrFormat("  broken=%d", gen.Broken()).c_str()
              : "",
          config.fill ? absl::StrFormat(
                            "  filled=%d/%d entries", gen.FillProgress(),
                            uint64_t{config.peers} *
                                std::max(1u, config.torrents_per_peer))
                            .c_str()
                      : "");
    }
    last_answered = answered;
    last_replied = replied;
    last_sent = sent;
    last = now;
  }
  gen.Join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  uint64_t total = 0;
  double rate[kNumReqTypes];
  for (int t = 0; t < kNumReqTypes; ++t) {
    const uint64_t a = gen.Answered(static_cast<RequestType>(t));
    total += a;
    rate[t] = double(a) / elapsed;
  }
  const double p50 = gen.LatencyPercentileUs(0.50);
  const double p99 = gen.LatencyPercentileUs(0.99);
  const double p999 = gen.LatencyPercentileUs(0.999);
  const Replies replies = CountReplies(gen);
  const ErrorMessageCounts by_message = gen.ErrorsByMessage();
  const std::string failure = FailureOf(gen, config, max_error_rate);
  if (json) {
    std::printf(
        "{\"target\":%s,\"mode\":\"%s\",\"seconds\":%.3f,\"responses_per_s\":%.1f,"
        "\"connect_per_s\":%.1f,\"announce_per_s\":%.1f,\"scrape_per_s\":%.1f,"
        "\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f},"
        "\"errors\":%llu,\"timeouts\":%llu,\"strays\":%llu,\"broken\":%llu,"
        "\"connections\":%llu,"
        "\"peers_returned\":%llu,\"filled\":%llu,\"sent_per_s\":%.1f,"
        "\"error_rate\":%.6f,\"max_error_rate\":%.6f,"
        "\"errors_by_type\":{\"connect\":%llu,\"announce\":%llu,"
        "\"scrape\":%llu},\"errors_by_message\":%s,\"failure\":%s}\n",
        JsonQuote(config.target.text).c_str(), ModeName(config), elapsed, double(total) / elapsed,
        rate[0], rate[1], rate[2], p50, p99, p999,
        (unsigned long long)replies.errors, (unsigned long long)gen.Timeouts(),
        (unsigned long long)gen.Strays(), (unsigned long long)gen.Broken(),
        (unsigned long long)gen.Connections(),
        (unsigned long long)gen.PeersReturned(),
        (unsigned long long)gen.FillProgress(),
        double(TotalSent(gen)) / elapsed, replies.error_rate(), max_error_rate,
        (unsigned long long)gen.Errors(kConnectReq),
        (unsigned long long)gen.Errors(kAnnounceReq),
        (unsigned long long)gen.Errors(kScrapeReq),
        ErrorsByMessageJson(by_message).c_str(),
        failure.empty() ? "null" : JsonQuote(failure).c_str());
  } else {
    std::printf("target: %s (%s)  duration: %.2f s  threads: %d\n",
                config.target.text.c_str(), ModeName(config), elapsed,
                config.threads);
    std::printf("responses/s: %.0f  (answers; error replies are counted apart)\n",
                double(total) / elapsed);
    for (int t = 0; t < kNumReqTypes; ++t) {
      const auto type = static_cast<RequestType>(t);
      std::printf("  %-8s  %10.0f responses/s  (%llu sent, %llu errors)\n",
                  kTypeNames[t], rate[t], (unsigned long long)gen.Sent(type),
                  (unsigned long long)gen.Errors(type));
    }
    std::printf("latency: p50 %.0f us  p99 %.0f us  p99.9 %.0f us\n", p50, p99,
                p999);
    std::printf(
        "errors: %llu (%.2f %% of replies; limit --max_error_rate %.2f %%)  "
        "timeouts: %llu  strays: %llu  broken: %llu\n",
        (unsigned long long)replies.errors, 100 * replies.error_rate(),
        100 * max_error_rate, (unsigned long long)gen.Timeouts(),
        (unsigned long long)gen.Strays(), (unsigned long long)gen.Broken());
    for (const auto& [message, n] : by_message) {
      std::printf("  %10llu  \"%s\"\n", (unsigned long long)n,
                  absl::CHexEscape(message).c_str());
    }
    std::printf("result: %s\n", failure.empty() ? "ok" : "FAILED");
  }
  if (!failure.empty()) {
    std::fprintf(stderr, "ringtrack-load: the run failed: %s\n", failure.c_str());
    return kExitRuntimeFailure;
  }
  return kExitOk;
}
