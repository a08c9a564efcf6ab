#include "daemon/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ringtrack {
namespace {

std::string ReadSmallFile(const char* path) {
  std::string out;
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

}  // namespace

double ProcessStartTimeSeconds() {
  // Field 22 of /proc/self/stat, counted after the command name, which is
  // in parentheses and may itself hold spaces and parentheses.
  const std::string stat = ReadSmallFile("/proc/self/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  unsigned long long start_ticks = 0;
  // After ") ": field 3 (state) onwards; starttime is the 20th of those.
  if (std::sscanf(stat.c_str() + close + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
                  "%*d %*d %*d %*d %*d %llu",
                  &start_ticks) != 1) {
    return 0;
  }
  const std::string proc_stat = ReadSmallFile("/proc/stat");
  const size_t at = proc_stat.find("\nbtime ");
  if (at == std::string::npos) return 0;
  const double boot = std::strtod(proc_stat.c_str() + at + 7, nullptr);
  const long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) return 0;
  return boot + static_cast<double>(start_ticks) / static_cast<double>(hz);
}

double ProcessCpuSeconds() {
  rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

int ProcessOpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace ringtrack
