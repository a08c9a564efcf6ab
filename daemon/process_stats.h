// The process-wide figures every Prometheus client library exports
// (process_start_time_seconds, process_cpu_seconds_total,
// process_open_fds), read from /proc and getrusage() at each scrape.
#ifndef RINGTRACK_DAEMON_PROCESS_STATS_H_
#define RINGTRACK_DAEMON_PROCESS_STATS_H_

namespace ringtrack {

// When this process started, in Unix seconds: /proc/self/stat's start
// time (clock ticks after boot) plus /proc/stat's btime. 0 if unreadable.
double ProcessStartTimeSeconds();
// User plus system CPU seconds of every thread so far.
double ProcessCpuSeconds();
// Entries of /proc/self/fd (-1 if unreadable).
int ProcessOpenFds();

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_PROCESS_STATS_H_
