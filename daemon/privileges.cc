#include "daemon/privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ringtrack {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::ErrnoToStatus(errno, what);
}

int Capset(const __user_cap_data_struct data[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(
      syscall(SYS_capset, &hdr, const_cast<__user_cap_data_struct*>(data)));
}

}  // namespace

std::string CurrentUserName() {
  const uid_t uid = geteuid();
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return absl::StrCat("uid ", uid);
}

absl::Status CheckReadableNow(const std::string& what, const std::string& path) {
  if (access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  const int err = errno;
  const std::string user = CurrentUserName();
  return absl::PermissionDeniedError(absl::StrCat(
      "--", what, ": ", path, " is not readable by user ", user, ": ",
      std::strerror(err), " (it is re-read on SIGHUP as ", user,
      ": make it and its directories readable by ", user,
      ", e.g. chmod o+r, or choose --user)"));
}

unsigned long long EffectiveCapabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return ~0ULL;
  return (static_cast<unsigned long long>(data[1].effective) << 32) |
         data[0].effective;
}

absl::Status DropPrivileges(const std::string& user) {
  // The kernel clears the parent-death signal when credentials change;
  // whoever set it (a supervisor, a test) still wants it.
  int pdeath = 0;
  prctl(PR_GET_PDEATHSIG, &pdeath);
  if (!user.empty()) {
    if (geteuid() != 0) {
      return absl::PermissionDeniedError(absl::StrCat(
          "--user ", user, " needs ringtrackd to start as root (or pass --user= "
          "to stay the current user)"));
    }
    errno = 0;
    const passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) {
      return absl::NotFoundError(absl::StrCat("--user: no user named ", user));
    }
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    // While still root: empty the bounding set, so no exec can regain a
    // capability even through a file capability.
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) prctl(PR_CAPBSET_DROP, cap);
    if (setgroups(1, &gid) != 0) return Errno("setgroups");
    if (setresgid(gid, gid, gid) != 0) return Errno("setresgid");
    if (setresuid(uid, uid, uid) != 0) return Errno("setresuid");
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
      return absl::InternalError("could regain root after dropping it");
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  const __user_cap_data_struct none[2] = {};
  if (Capset(none) != 0) return Errno("capset");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Errno("PR_SET_NO_NEW_PRIVS");
  }
  if (pdeath != 0) prctl(PR_SET_PDEATHSIG, pdeath);
  if (EffectiveCapabilities() != 0) {
    return absl::InternalError("capabilities remain after dropping them");
  }
  return absl::OkStatus();
}

}  // namespace ringtrack
