// Least privilege: ringtrackd needs root only to bind, attach XDP and force
// socket buffer sizes, all done before its threads start. DropPrivileges()
// then switches to an unprivileged user, keeps no capability (effective,
// permitted, inheritable, ambient, bounding) and sets PR_SET_NO_NEW_PRIVS,
// so nothing it runs later can regain them. What still works afterwards:
// XDP map updates (through the map fds already held) and XDP detach (the
// bpf_link goes away with its fd).
#ifndef RINGTRACK_DAEMON_PRIVILEGES_H_
#define RINGTRACK_DAEMON_PRIVILEGES_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ringtrack {

// `user`: a user name to switch to (REQUIRES root), or empty to stay the
// current user (capabilities are dropped all the same).
absl::Status DropPrivileges(const std::string& user);

// The user this process reads and writes files as: its effective user's
// name ("nobody"), or "uid N" when it has none. Every file error names it,
// since after the drop the daemon reads as --user, not as root.
std::string CurrentUserName();

// OK iff the user this process now runs as can read the regular file
// `path` (REQUIRES: after DropPrivileges(), whose real and effective ids
// are the same, which access(2) checks). The error names `what` (a flag),
// the file, the user, errno's text and the fix.
absl::Status CheckReadableNow(const std::string& what, const std::string& path);

// Effective capabilities of this process (a bit mask), for checks and logs.
unsigned long long EffectiveCapabilities();

}  // namespace ringtrack

#endif  // RINGTRACK_DAEMON_PRIVILEGES_H_
