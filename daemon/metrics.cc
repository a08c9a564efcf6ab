#include "daemon/metrics.h"

#include <cassert>
#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ringtrack {
namespace {

std::string FormatValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e18) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrFormat("%.15g", v);
}

// A rate for people: whole numbers from 10/s up, two significant digits
// below ("0.05/s", "1.5/s").
std::string FormatRate(double per_s) {
  if (per_s >= 10) return absl::StrCat(static_cast<int64_t>(std::lround(per_s)));
  return absl::StrFormat("%.2g", per_s);
}

// (This abseil's string_view is its own type.)
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

void MetricSamples::Add(MetricId id, double value) {
  const MetricInfo& m = InfoOf(id);
  assert(m.labels.empty());
  samples_.push_back({id, "", std::string(m.key), value});
}

void MetricSamples::Add(MetricId id,
                        std::initializer_list<std::string_view> values,
                        std::string key, double value) {
  const MetricInfo& m = InfoOf(id);
  assert(values.size() == LabelCount(m));
  std::string labels;
  const std::vector<absl::string_view> names = absl::StrSplit(A(m.labels), ',');
  size_t i = 0;
  for (std::string_view v : values) {
    if (i >= names.size()) break;
    absl::StrAppend(&labels, i == 0 ? "" : ",", names[i], "=\"", A(v), "\"");
    ++i;
  }
  samples_.push_back({id, std::move(labels), std::move(key), value});
}

std::string FormatPrometheus(const std::vector<MetricSample>& samples) {
  std::vector<std::vector<const MetricSample*>> by_family(kMetricCount);
  for (const MetricSample& s : samples) {
    by_family[static_cast<size_t>(s.id)].push_back(&s);
  }
  std::string out;
  for (size_t f = 0; f < kMetricCount; ++f) {
    if (by_family[f].empty()) continue;
    const MetricInfo& m = kMetricCatalogue[f];
    absl::StrAppend(&out, "# HELP ", A(m.series), " ", A(m.help), "\n# TYPE ",
                    A(m.series), " ",
                    m.type == MetricType::kCounter ? "counter" : "gauge", "\n");
    for (const MetricSample* s : by_family[f]) {
      absl::StrAppend(&out, A(m.series), s->labels.empty() ? "" : "{", s->labels,
                      s->labels.empty() ? "" : "}", " ",
                      FormatValue(s->value), "\n");
    }
  }
  return out;
}

std::vector<StatsValue> StatsValues(const std::vector<MetricSample>& samples) {
  std::vector<StatsValue> out;
  std::map<std::string_view, size_t> at;
  for (const MetricSample& s : samples) {
    if (s.key.empty()) continue;
    auto [it, fresh] = at.emplace(s.key, out.size());
    if (fresh) {
      out.push_back({s.key,
                     InfoOf(s.id).type == MetricType::kCounter, s.value});
    } else {
      out[it->second].value += s.value;
    }
  }
  return out;
}

std::string FormatTotals(const std::vector<MetricSample>& samples) {
  std::string out;
  for (const StatsValue& v : StatsValues(samples)) {
    if (v.value == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", v.key, "=",
                    FormatValue(v.value));
  }
  return out;
}

std::string StatsInterval::Line(const std::vector<MetricSample>& now,
                                absl::Duration elapsed) {
  std::vector<StatsValue> values = StatsValues(now);
  std::map<std::string_view, double> before;
  for (const StatsValue& v : last_) before[v.key] = v.value;
  const double seconds = std::max(absl::ToDoubleSeconds(elapsed), 1e-3);
  std::string rates, gauges;
  for (const StatsValue& v : values) {
    if (v.counter) {
      const auto b = before.find(v.key);
      const double moved = v.value - (b == before.end() ? 0 : b->second);
      if (moved <= 0) continue;
      absl::StrAppend(&rates, rates.empty() ? "" : " ", v.key, "=",
                      FormatRate(moved / seconds), "/s");
    } else if (v.value != 0) {
      absl::StrAppend(&gauges, gauges.empty() ? "" : " ", v.key, "=",
                      FormatValue(v.value));
    }
  }
  last_ = std::move(values);
  const absl::Duration shown = absl::Trunc(
      elapsed, elapsed < absl::Seconds(10) ? absl::Milliseconds(10)
                                           : absl::Seconds(1));
  std::string line = absl::StrCat("over ", absl::FormatDuration(shown), ":");
  if (!rates.empty()) absl::StrAppend(&line, " ", rates);
  if (!gauges.empty()) absl::StrAppend(&line, " ", gauges);
  return line;
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
