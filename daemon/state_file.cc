#include "daemon/state_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "daemon/net.h"

namespace ringtrack {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

// An error reading the state file that says nothing about its contents.
// Its code is never kDataLoss (LoadState()'s "proven bad") nor kNotFound
// ("no file"), whatever errno maps to.
absl::Status NotRead(absl::string_view what, const std::string& path) {
  const int e = errno;
  if (e == ENOENT) return absl::NotFoundError(absl::StrCat(what, " ", path));
  absl::Status s = absl::ErrnoToStatus(e, absl::StrCat(what, " ", path));
  if (absl::IsDataLoss(s) || absl::IsNotFound(s)) {
    return absl::UnavailableError(s.message());
  }
  return s;
}

absl::Status WriteAll(int fd, std::span<const uint8_t> data,
                      const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// A read-only private mapping of a whole file; unmapped on destruction.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  // Maps the regular file at `path` if it is at most `max_bytes` long.
  // Opens without following a symbolic link and without blocking (a FIFO
  // with no writer would block a plain open for ever), and checks type and
  // size from fstat before reading anything. Errors are NotRead()'s.
  absl::Status Open(const std::string& path, uint64_t max_bytes) {
    UniqueFd fd(
        open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ELOOP) {
        return absl::FailedPreconditionError(absl::StrCat(
            path,
            " is a symbolic link (a save would replace the link, not "
            "write through it): point --state-file at the file itself"));
      }
      return NotRead("cannot open", path);
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return NotRead("cannot stat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a regular file (",
                       S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device",
                       ")"));
    }
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          path, " is ", st.st_size,
          " bytes, more than the memory budget could restore (at most ",
          max_bytes,
          " bytes of state file): raise --max-memory, or move the file"));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return absl::OkStatus();
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return NotRead("cannot map", path);
    data_ = static_cast<uint8_t*>(p);
    madvise(data_, size_, MADV_SEQUENTIAL);
    return absl::OkStatus();
  }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Buffers the encoded file, feeding the checksum and the fd 1 MiB at a
// time.
class Writer {
 public:
  Writer(int fd, const std::string& path) : fd_(fd), path_(path) {
    buf_.reserve(kFlushAt + 64 * 1024);
  }
  std::vector<uint8_t>* buffer() { return &buf_; }
  absl::Status MaybeFlush() {
    return buf_.size() >= kFlushAt ? Flush() : absl::OkStatus();
  }
  absl::Status Flush() {
    sum_.Update(buf_);
    bytes_ += buf_.size();
    absl::Status s = WriteAll(fd_, buf_, path_);
    buf_.clear();
    return s;
  }
  const state::Checksum& checksum() const { return sum_; }
  uint64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  const int fd_;
  const std::string& path_;
  std::vector<uint8_t> buf_;
  state::Checksum sum_;
  uint64_t bytes_ = 0;
};

// The pid holding a flock on the file open as `fd`, from /proc/locks (the
// kernel's record, right even when the lock file's text is stale); "" if
// not found there.
std::string FlockHolder(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "";
  FILE* f = std::fopen("/proc/locks", "re");
  if (f == nullptr) return "";
  char line[256];
  std::string pid;
  while (pid.empty() && std::fgets(line, sizeof(line), f) != nullptr) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" (waiters have "->").
    int holder = 0;
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    if (std::sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%llu", &holder, &maj,
                    &min, &ino) == 4 &&
        ino == st.st_ino && maj == major(st.st_dev) &&
        min == minor(st.st_dev)) {
      pid = std::to_string(holder);
    }
  }
  std::fclose(f);
  return pid;
}

// The pid a lock file's holder wrote into it, or "".
std::string PidInFile(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// Gives the file at `from` the name `to` unless `to` exists (EEXIST).
bool RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) return false;
  // A file system without RENAME_NOREPLACE: link() never replaces either.
  if (link(from.c_str(), to.c_str()) != 0) return false;
  if (unlink(from.c_str()) != 0) {
    const int e = errno;
    unlink(to.c_str());
    errno = e;
    return false;
  }
  return true;
}

}  // namespace

std::string StateFileDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

uint64_t MaxStateFileBytes(uint64_t budget_bytes) {
  // 11/8 = kPeerV4Size over an IPv4 entry's 8 bytes, the largest of the
  // three ratios (32/32 per swarm, 23/20 per IPv6 peer).
  static_assert(state::kPeerV4Size == 11 && state::kPeerV6Size == 23 &&
                state::kSwarmHeaderSize == 32);
  if (budget_bytes > UINT64_MAX / 2) return UINT64_MAX;  // no budget
  return state::kHeaderSize + state::kTrailerSize + (budget_bytes + 7) / 8 * 11;
}

absl::StatusOr<StateFileLock> StateFileLock::Acquire(
    const std::string& state_path) {
  const std::string lock_path = state_path + ".lock";
  // O_NOFOLLOW: a planted symbolic link is refused, never created through;
  // O_NONBLOCK: a FIFO cannot hang the start. Read-only: flock needs no
  // more, and a descriptor open for writing would keep the file system
  // from being remounted read-only while the daemon runs.
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  UniqueFd fd(open(lock_path.c_str(), kFlags | O_CREAT, 0644));
  if (!fd.valid() && errno == EROFS) {  // O_CREAT on a read-only file system
    fd = UniqueFd(open(lock_path.c_str(), kFlags));
  }
  if (!fd.valid()) {
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state lock file ", lock_path,
          " is a symbolic link; remove it (ringtrackd creates a regular "
          "file there)"));
    }
    return Errno("cannot open state lock file", lock_path);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno("stat", lock_path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("state lock file ", lock_path, " is not a regular file"));
  }
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Errno("flock", lock_path);
    std::string holder = FlockHolder(fd.get());
    if (holder.empty()) holder = PidInFile(fd.get());
    return absl::FailedPreconditionError(absl::StrCat(
        "state file ", state_path, " is in use by another process (pid ",
        holder.empty() ? "unknown" : holder, " holds ", lock_path,
        "): one ringtrackd per state file"));
  }
  // The pid as text is for operators; the lock is the flock, and
  // FlockHolder() reads the holder from the kernel, so a failed write (a
  // lock file another user made) costs nothing.
  if (UniqueFd text(open(lock_path.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW |
                                                O_NONBLOCK | O_CLOEXEC));
      text.valid()) {
    const std::string pid = absl::StrCat(getpid(), "\n");
    (void)!write(text.get(), pid.data(), pid.size());
  }
  return StateFileLock(std::move(fd));
}

int RemoveStaleStateTempFiles(const std::string& path) {
  const std::string dir = StateFileDirectory(path);
  const size_t slash = path.rfind('/');
  const std::string prefix =
      (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  while (const dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    // mkostemp's suffix is six characters.
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix)) {
      continue;
    }
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    removed += unlinkat(dirfd(d), e->d_name, 0) == 0;
  }
  closedir(d);
  return removed;
}

absl::StatusOr<StateSaveResult> SaveState(SwarmTable& table,
                                          const std::string& path,
                                          uint32_t now) {
  const absl::Time start = absl::Now();
  // A name no one could have prepared: mkostemp opens with O_CREAT|O_EXCL,
  // so an existing name (a planted symbolic link included) is never opened.
  std::string tmp = path + ".tmp-XXXXXX";
  UniqueFd fd(mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return Errno("create temp file", tmp);
  StateSaveResult r;
  Writer w(fd.get(), tmp);
  state::AppendHeader(now, w.buffer());
  absl::Status status;
  table.ForEachSwarm(now, [&](const SwarmRecord& rec) {
    if (!status.ok()) return;
    state::AppendSwarm(rec, w.buffer());
    ++r.swarms;
    r.peers += rec.peers.size();
    status = w.MaybeFlush();
  });
  if (status.ok()) status = w.Flush();
  if (status.ok()) {
    std::vector<uint8_t> trailer;
    state::AppendTrailer(r.swarms, r.peers, w.checksum(), &trailer);
    status = WriteAll(fd.get(), trailer, tmp);
    r.bytes = w.bytes() + trailer.size();
  }
  if (status.ok() && fsync(fd.get()) != 0) status = Errno("fsync", tmp);
  if (status.ok()) {
    struct stat st;
    if (fstat(fd.get(), &st) != 0) {
      status = Errno("stat", tmp);
    } else {
      r.file = {static_cast<uint64_t>(st.st_dev),
                static_cast<uint64_t>(st.st_ino)};
    }
  }
  if (status.ok() && close(fd.release()) != 0) status = Errno("close", tmp);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = Errno("rename to", path);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  // Makes the rename itself durable.
  const std::string dir = StateFileDirectory(path);
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || fsync(dfd.get()) != 0) {
    r.directory_sync_error = std::string(Errno("fsync", dir).message());
  }
  r.took = absl::Now() - start;
  return r;
}

std::optional<FileIdentity> IdentityOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return FileIdentity{static_cast<uint64_t>(st.st_dev),
                        static_cast<uint64_t>(st.st_ino)};
  }
  if (errno == ENOENT) return std::nullopt;
  return FileIdentity{};
}

absl::StatusOr<StateLoadResult> LoadState(SwarmTable& table,
                                          const std::string& path, uint32_t now,
                                          const AccessList* access,
                                          uint64_t max_bytes) {
  const absl::Time start = absl::Now();
  MappedFile file;
  if (absl::Status s = file.Open(path, max_bytes); !s.ok()) return s;
  StateLoadResult r;
  absl::StatusOr<state::FileInfo> info = state::Verify(file.bytes());
  if (!info.ok()) {
    // Whatever Verify's code (foreign, version, truncated, corrupt), the
    // contents were read and refused.
    return absl::DataLossError(
        absl::StrCat(path, ": ", info.status().message()));
  }
  r.file = *info;
  absl::Status s = state::ForEachRecord(
      file.bytes(),
      [&](const SwarmRecord& rec) {
        if (access != nullptr && !access->Allows(rec.info_hash)) {
          ++r.not_allowed;
          return;
        }
        table.Restore(rec, now, &r.restored);
      });
  if (!s.ok()) {
    // Only a file whose checksum matched gets here, so this is a writer's
    // bug, not corruption; what was restored stays.
    return absl::DataLossError(absl::StrCat(path, ": ", s.message()));
  }
  r.took = absl::Now() - start;
  return r;
}

absl::StatusOr<std::string> SetStateFileAside(const std::string& path,
                                              uint32_t now) {
  // Never over an earlier refused file: the operator may want both.
  std::string aside = absl::StrCat(path, ".refused-", now);
  for (int n = 1; !RenameNoReplace(path, aside); ++n) {
    if (errno != EEXIST || n > 1000) return Errno("rename", path);
    aside = absl::StrCat(path, ".refused-", now, ".", n);
  }
  return aside;
}

absl::StatusOr<std::string> KeepStateFileAsPrevious(const std::string& path) {
  std::string previous = path + ".previous";
  for (int n = 1; link(path.c_str(), previous.c_str()) != 0; ++n) {
    if (errno != EEXIST || n > 1000) return Errno("link", previous);
    previous = absl::StrCat(path, ".previous.", n);
  }
  return previous;
}

}  // namespace ringtrack
