// The metrics catalogue's rows and the three renderings made from them.
#include "daemon/metrics_catalogue.h"

#include <regex>
#include <set>
#include <string>

#include "daemon/metrics.h"
#include "gtest/gtest.h"

namespace ringtrack {
namespace {

TEST(MetricsCatalogueTest, RowsAreWellFormed) {
  const std::regex name("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::regex labels("([a-z_][a-z0-9_]*)(,[a-z_][a-z0-9_]*)*");
  std::set<std::string> series, keys;
  for (const MetricInfo& m : kMetricCatalogue) {
    const std::string s(m.series);
    EXPECT_TRUE(std::regex_match(s, name)) << s;
    EXPECT_TRUE(series.insert(s).second) << "duplicate " << s;
    // promtool's lint: counters end in _total, gauges do not.
    EXPECT_EQ(m.type == MetricType::kCounter,
              s.size() > 6 && s.substr(s.size() - 6) == "_total")
        << s;
    if (!m.labels.empty()) {
      EXPECT_TRUE(std::regex_match(std::string(m.labels), labels)) << s;
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
