// Prints the metrics catalogue (daemon/metrics_catalogue.h): with --names
// the series names, one a line; otherwise README's metrics table in
// Markdown, which tests/daemon/metrics_readme_test.py compares with the
// README. Built for the tests, not installed.
#include <cstdio>
#include <cstring>
#include <string>

#include "daemon/metrics_catalogue.h"

int main(int argc, char** argv) {
  using ringtrack::kMetricCatalogue;
  using ringtrack::MetricType;
  const bool names = argc > 1 && std::strcmp(argv[1], "--names") == 0;
  if (!names) {
    std::printf("| series | type | labels | meaning |\n|---|---|---|---|\n");
  }
  for (const ringtrack::MetricInfo& m : kMetricCatalogue) {
    const std::string series(m.series);
    if (names) {
      std::printf("%s\n", series.c_str());
      continue;
    }
    std::string labels;
    for (char c : m.labels) labels += c == ',' ? std::string(", ") : std::string(1, c);
    std::printf("| `%s` | %s | %s | %.*s |\n", series.c_str(),
                m.type == MetricType::kCounter ? "counter" : "gauge",
                labels.empty() ? "" : ("`" + labels + "`").c_str(),
                static_cast<int>(m.help.size()), m.help.data());
  }
  return 0;
}
