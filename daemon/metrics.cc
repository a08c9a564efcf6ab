#include "daemon/metrics.h"

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
  std::vector<HttpServer::Route> routes = {
      {"/metrics", "text/plain; version=0.0.4; charset=utf-8", std::move(render)},
      {"/", "text/plain", [] { return std::string("ringtrackd: metrics at /metrics\n"); }},
  };
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Bind(host, port, std::move(routes));
  if (!http.ok()) return http.status();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(*http)));
}

}  // namespace ringtrack
