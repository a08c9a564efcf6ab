// Metrics: the values of the catalogue's series (daemon/metrics_catalogue.h)
// at one moment, rendered three ways: the Prometheus text exposition format
// served by MetricsServer, the periodic stats line of the log (rates over
// the interval, non-zero only) and the final line of totals at exit.
// Server::Samples() only wires values to catalogue rows; names, types, help
// and label names come from the catalogue.
#ifndef RINGTRACK_DAEMON_METRICS_H_
#define RINGTRACK_DAEMON_METRICS_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/http_server.h"
#include "daemon/metrics_catalogue.h"

namespace ringtrack {

struct MetricSample {
  MetricId id = MetricId::kCount;
  std::string labels;  // rendered, without braces: a="x",b="y" (may be empty)
  std::string key;     // stats-line key ("": not on the line)
  double value = 0;
};

// Collects one reading of every series, checking each against its row.
class MetricSamples {
 public:
  // An unlabelled series; its stats key is the catalogue's.
  // REQUIRES: the row has no labels.
  void Add(MetricId id, double value);
  // A labelled series: one value per label name of the row, in its order.
  // `key` names the sample on the stats line ("": not on it); samples
  // that share a key are summed there.
  // REQUIRES: values.size() == LabelCount(InfoOf(id)).
  void Add(MetricId id, std::initializer_list<std::string_view> values,
           std::string key, double value);
  const std::vector<MetricSample>& samples() const { return samples_; }
  std::vector<MetricSample> Take() { return std::move(samples_); }

 private:
  std::vector<MetricSample> samples_;
};

// Text exposition format 0.0.4: the families in catalogue order, each with
// HELP and TYPE once and then its samples; a family without samples is
// left out.
std::string FormatPrometheus(const std::vector<MetricSample>& samples);

// The stats line's values: one per key (samples sharing a key summed), in
// the order keys first appear; whether each is a counter.
struct StatsValue {
  std::string key;
  bool counter = false;
  double value = 0;
};
std::vector<StatsValue> StatsValues(const std::vector<MetricSample>& samples);

// "key=value ..." of the non-zero values: the final line of totals.
std::string FormatTotals(const std::vector<MetricSample>& samples);

// The periodic stats line: what changed since the previous line. Counters
// that moved appear as their rate over the interval ("announces=120/s"),
// then the gauges that are not zero ("torrents=12"). Not thread-safe: one
// caller (the housekeeping thread).
class StatsInterval {
 public:
  // The line for `now`, `elapsed` after the previous call (or the start);
  // remembers `now`'s counters for the next call.
  std::string Line(const std::vector<MetricSample>& now,
                   absl::Duration elapsed);

 private:
  std::vector<StatsValue> last_;
};

// Serves GET /metrics over HTTP (daemon/http_server.h) from its own thread. A scrape
// calls `render`, which only reads counters: it never touches the workers'
// hot path.
class MetricsServer {
 public:
  // Binds HOST:PORT now (so a port in use fails at start); serves from
  // Start() on.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(
      const std::string& host, int port, std::function<std::string()> render);
  void Start() { http_->Start(); }
  void Stop() { http_->Stop(); }
  int port() const { return http_->port(); }

 private:
  explicit MetricsServer(std::unique_ptr<HttpServer> http)
      : http_(std::move(http)) {}
  std::unique_ptr<HttpServer> http_;
};

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_METRICS_H_
