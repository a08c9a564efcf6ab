// The metrics catalogue's rows and the three renderings made from them.
#include "daemon/metrics_catalogue.h"

#include <set>
#include <string>
#include <string_view>

#include "daemon/metrics.h"
#include "gtest/gtest.h"

namespace ringtrack {
namespace {

// Prometheus' metric name syntax [a-zA-Z_:][a-zA-Z0-9_:]*, or with
// `label` its label name syntax [a-zA-Z_][a-zA-Z0-9_]*.
bool IsName(std::string_view s, bool label = false) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || (!label && c == ':');
    if (!ok) return false;
  }
  return true;
}

TEST(MetricsCatalogueTest, RowsAreWellFormed) {
  std::set<std::string> series, keys;
  for (const MetricInfo& m : kMetricCatalogue) {
    const std::string s(m.series);
    EXPECT_TRUE(IsName(s)) << s;
    EXPECT_TRUE(series.insert(s).second) << "duplicate " << s;
    // promtool's lint: counters end in _total, gauges do not.
    EXPECT_EQ(m.type == MetricType::kCounter,
              s.size() > 6 && s.substr(s.size() - 6) == "_total")
        << s;
    if (!m.labels.empty()) {
      std::string_view rest = m.labels;
      size_t names = 0;
      for (size_t comma; !rest.empty(); ++names) {
        comma = rest.find(',');
        EXPECT_TRUE(IsName(rest.substr(0, comma), /*label=*/true)) << s;
        rest = comma == rest.npos ? "" : rest.substr(comma + 1);
      }
      EXPECT_EQ(names, LabelCount(m)) << s;
      EXPECT_TRUE(m.key.empty()) << s << ": a labelled row's samples bring keys";
    }
    if (!m.key.empty()) {
      EXPECT_TRUE(keys.insert(std::string(m.key)).second) << m.key;
    }
    EXPECT_FALSE(m.help.empty()) << s;
    EXPECT_EQ(m.help.back(), '.') << s;
  }
}

TEST(MetricsCatalogueTest, PrometheusHasEachFamilyOnceWithItsLabels) {
  MetricSamples v;
  v.Add(MetricId::kRequests, {"udp", "announce", "ok", "4"}, "announces", 3);
  v.Add(MetricId::kTorrents, 2);
  v.Add(MetricId::kRequests, {"udp", "announce", "ok", "6"}, "announces", 4);
  const std::string text = FormatPrometheus(v.samples());
  EXPECT_EQ(text,
            "# HELP ringtrack_requests_total " +
                std::string(InfoOf(MetricId::kRequests).help) +
                "\n# TYPE ringtrack_requests_total counter\n"
                "ringtrack_requests_total{protocol=\"udp\",type=\"announce\","
                "outcome=\"ok\",ip_version=\"4\"} 3\n"
                "ringtrack_requests_total{protocol=\"udp\",type=\"announce\","
                "outcome=\"ok\",ip_version=\"6\"} 4\n"
                "# HELP ringtrack_torrents Swarms in the table.\n"
                "# TYPE ringtrack_torrents gauge\n"
                "ringtrack_torrents 2\n");
  // A family without samples (XDP off) is left out.
  EXPECT_EQ(text.find("xdp"), std::string::npos);
}

TEST(MetricsCatalogueTest, TotalsSumSharedKeysAndLeaveOutZeros) {
  MetricSamples v;
  v.Add(MetricId::kRequests, {"udp", "announce", "ok", "4"}, "announces", 3);
  v.Add(MetricId::kRequests, {"udp", "announce", "ok", "6"}, "announces", 4);
  v.Add(MetricId::kRequests, {"udp", "scrape", "ok", "4"}, "scrapes", 0);
  v.Add(MetricId::kTorrents, 2);
  v.Add(MetricId::kBuildInfo, {"1.0"}, "", 1);  // no key: not on the line
  EXPECT_EQ(FormatTotals(v.samples()), "announces=7 torrents=2");
}

TEST(MetricsCatalogueTest, IntervalLineShowsRatesOfWhatMovedAndNonZeroGauges) {
  StatsInterval interval;
  auto reading = [](double announces, double scrapes, double torrents,
                    double peers_v6) {
    MetricSamples v;
    v.Add(MetricId::kRequests, {"udp", "announce", "ok", "4"}, "announces",
          announces);
    v.Add(MetricId::kRequests, {"udp", "scrape", "ok", "4"}, "scrapes",
          scrapes);
    v.Add(MetricId::kTorrents, torrents);
    v.Add(MetricId::kPeers, {"6"}, "peers_v6", peers_v6);
    return v.Take();
  };
  EXPECT_EQ(interval.Line(reading(600, 0, 5, 0), absl::Seconds(60)),
            "over 1m: announces=10/s torrents=5");
  EXPECT_EQ(interval.Line(reading(630, 3, 5, 2), absl::Seconds(60)),
            "over 1m: announces=0.5/s scrapes=0.05/s torrents=5 peers_v6=2");
  EXPECT_EQ(interval.Line(reading(630, 3, 0, 0), absl::Milliseconds(1500)),
            "over 1.5s:");
}

}  // namespace
}  // namespace ringtrack
