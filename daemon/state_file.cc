#include "daemon/state_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
  absl::Status Open(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Errno("open", path);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Errno("stat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is not a regular file"));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return absl::OkStatus();
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return Errno("mmap", path);
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

}  // namespace

std::string StateFileDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::StatusOr<StateSaveResult> SaveState(SwarmTable& table,
                                          const std::string& path,
                                          uint32_t now) {
  const absl::Time start = absl::Now();
  const std::string tmp = path + ".tmp";
  UniqueFd fd(
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Errno("create", tmp);
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
  if (!dfd.valid() || fsync(dfd.get()) != 0) return Errno("fsync", dir);
  r.took = absl::Now() - start;
  return r;
}

absl::StatusOr<StateLoadResult> LoadState(SwarmTable& table,
                                          const std::string& path,
                                          uint32_t now,
                                          const AccessList* access) {
  const absl::Time start = absl::Now();
  MappedFile file;
  if (absl::Status s = file.Open(path); !s.ok()) return s;
  StateLoadResult r;
  absl::StatusOr<state::FileInfo> info = state::Verify(file.bytes());
  if (!info.ok()) {
    return absl::Status(info.status().code(),
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
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  r.took = absl::Now() - start;
  return r;
}

absl::StatusOr<std::string> SetStateFileAside(const std::string& path,
                                              uint32_t now) {
  // Never over an earlier refused file: the operator may want both.
  std::string aside = absl::StrCat(path, ".refused-", now);
  for (int n = 1; access(aside.c_str(), F_OK) == 0; ++n) {
    aside = absl::StrCat(path, ".refused-", now, ".", n);
  }
  if (rename(path.c_str(), aside.c_str()) != 0) {
    return Errno("rename", path);
  }
  return aside;
}

}  // namespace ringtrack
