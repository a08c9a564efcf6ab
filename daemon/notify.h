// Notify: systemd's service notification protocol (sd_notify(3)), spoken
// directly instead of through libsystemd. The protocol is one datagram of
// newline-separated KEY=VALUE assignments to the AF_UNIX socket named by
// $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace); systemd
// documents it as stable and meant to be reimplemented. Doing so spares the
// daemon libsystemd and the five libraries it loads (~1 MiB resident, see
// README "Memory").
//
// Thread safety: both functions may be called from any thread; each Notify()
// opens and closes its own socket, so it also works after the drop to an
// unprivileged user (systemd's socket is writable by every service).
#ifndef RINGTRACK_DAEMON_NOTIFY_H_
#define RINGTRACK_DAEMON_NOTIFY_H_

#include <string_view>

#include "absl/time/time.h"

namespace ringtrack::systemd {

// Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET. Returns false when the
// variable is unset, names an address this implementation does not speak
// (vsock), or the send fails; a daemon not run by systemd ignores that.
bool Notify(std::string_view state);

// Sends "RELOADING=1" with MONOTONIC_USEC= (CLOCK_MONOTONIC now, which
// systemd uses to tell this reload from an earlier one). Send READY=1 once
// the reload is done, whether or not it succeeded.
bool NotifyReloading();

// The watchdog interval systemd expects pings within ($WATCHDOG_USEC), or
// zero when the watchdog is off or meant for another process
// ($WATCHDOG_PID names a different pid).
absl::Duration WatchdogTimeout();

}  // namespace ringtrack::systemd

#endif  // RINGTRACK_DAEMON_NOTIFY_H_
