// Metrics: every counter and gauge ringtrackd reports, as one list of
// samples, rendered two ways: the key=value stats line in the log, and the
// Prometheus text exposition format served by MetricsServer. Each sample
// names its stats key and its Prometheus series together (Server::Samples()
// is the one list), so the two can never drift apart.
#ifndef RINGTRACK_DAEMON_METRICS_H_
#define RINGTRACK_DAEMON_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http_server.h"

namespace ringtrack {

enum class MetricType { kCounter, kGauge };

struct MetricSample {
  std::string key;     // stats-line key, e.g. "announces"
  std::string name;    // Prometheus name, e.g. "ringtrack_responses_total"
  std::string labels;  // Prometheus labels without braces, may be empty
  MetricType type = MetricType::kCounter;
  const char* help = "";
  double value = 0;
};

// "key=value key=value ..." (integers where the value is whole).
std::string FormatStatsLine(const std::vector<MetricSample>& samples);
// Text exposition format 0.0.4: HELP and TYPE once per metric family (in
// the order families first appear), then its samples.
std::string FormatPrometheus(const std::vector<MetricSample>& samples);

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
