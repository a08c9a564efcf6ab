#include "daemon/metrics.h"

#include <httplib.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringtrack {
namespace {

std::string FormatValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e18) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrFormat("%.6g", v);
}

}  // namespace

std::string FormatStatsLine(const std::vector<MetricSample>& samples) {
  std::string out;
  for (const MetricSample& s : samples) {
    if (!out.empty()) out += ' ';
    absl::StrAppend(&out, s.key, "=", FormatValue(s.value));
  }
  return out;
}

std::string FormatPrometheus(const std::vector<MetricSample>& samples) {
  std::string out;
  std::set<std::string> done;
  for (size_t i = 0; i < samples.size(); ++i) {
    const std::string& name = samples[i].name;
    if (!done.insert(name).second) continue;
    absl::StrAppend(&out, "# HELP ", name, " ", samples[i].help, "\n# TYPE ",
                    name, " ",
                    samples[i].type == MetricType::kCounter ? "counter" : "gauge",
                    "\n");
    for (size_t j = i; j < samples.size(); ++j) {
      const MetricSample& s = samples[j];
      if (s.name != name) continue;
      absl::StrAppend(&out, name, s.labels.empty() ? "" : "{", s.labels,
                      s.labels.empty() ? "" : "}", " ", FormatValue(s.value),
                      "\n");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const std::string& host, int port, std::function<std::string()> render) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->http_ = std::make_unique<httplib::Server>();
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let
  // a second daemon share (and split) the port instead of failing.
  m->http_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  m->http_->Get("/metrics", [render](const httplib::Request&,
                                     httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  m->http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ringtrackd: metrics at /metrics\n", "text/plain");
  });
  if (port == 0) {
    m->port_ = m->http_->bind_to_any_port(host);
  } else {
    m->port_ = m->http_->bind_to_port(host, port) ? port : -1;
  }
  if (m->port_ <= 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "--metrics: cannot listen on ", host, ":", port, " (in use?)"));
  }
  return m;
}

void MetricsServer::Start() {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void MetricsServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

MetricsServer::~MetricsServer() { Stop(); }

}  // namespace ringtrack
