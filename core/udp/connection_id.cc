#include "core/udp/connection_id.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringtrack {

MasterKey RandomMasterKey() {
  uint64_t buf[2];
  size_t got = 0;
  while (got < sizeof(buf)) {
    const ssize_t n =
        getrandom(reinterpret_cast<char*>(buf) + got, sizeof(buf) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return {buf[0], buf[1]};
}

namespace {

absl::Status KeyFileError(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("connection key file ", path, ": ", why));
}

absl::StatusOr<MasterKey> ParseKey(const std::string& path,
                                   const std::string& raw) {
  const std::string text(absl::StripAsciiWhitespace(raw));
  if (text.size() != 32 ||
      text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "connection key file ", path,
        " must hold exactly 32 hexadecimal characters (128 bits)"));
  }
  const std::string bytes = absl::HexStringToBytes(text);
  MasterKey key;
  for (int i = 0; i < 8; ++i) {
    key.k0 = (key.k0 << 8) | static_cast<uint8_t>(bytes[i]);
    key.k1 = (key.k1 << 8) | static_cast<uint8_t>(bytes[8 + i]);
  }
  return key;
}

// Reads an open key file after checking what it is: a regular file, ours,
// and private to us (whoever else can read it can mint IDs for anyone).
absl::StatusOr<MasterKey> ReadKeyFd(const std::string& path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return KeyFileError(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return KeyFileError(path, "is not a regular file");
  if (st.st_uid != geteuid()) {
    return KeyFileError(path, absl::StrFormat("is owned by uid %d, not by us "
                                              "(uid %d)",
                                              st.st_uid, geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return KeyFileError(
        path, absl::StrFormat("is readable or writable by group or others "
                              "(mode %04o); chmod 600 it",
                              st.st_mode & 07777));
  }
  char buf[256];
  ssize_t n;
  std::string raw;
  while ((n = read(fd, buf, sizeof(buf))) > 0 && raw.size() < 4096) {
    raw.append(buf, static_cast<size_t>(n));
  }
  if (n < 0) return KeyFileError(path, std::strerror(errno));
  return ParseKey(path, raw);
}

// Writes a fresh key to a temporary file beside `path`, fsyncs it and links
// it into place, so `path` appears complete or not at all. Returns
// kAlreadyExists if another process linked its key first.
absl::StatusOr<MasterKey> CreateKeyFile(const std::string& path) {
  const MasterKey key = RandomMasterKey();
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create connection key file ", path, ": ", std::strerror(errno)));
  }
  const std::string text = absl::StrFormat("%016x%016x\n", key.k0, key.k1);
  const bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
      fsync(fd) == 0;
  close(fd);
  if (!written) {
    unlink(tmp.c_str());
    return absl::InternalError("cannot write connection key file " + path);
  }
  const int linked = link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return absl::AlreadyExistsError(path);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create connection key file ", path, ": ",
                     std::strerror(link_errno)));
  }
  // Make the new directory entry durable too.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (const int d = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    fsync(d);
    close(d);
  }
  return key;
}

}  // namespace

absl::StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path,
                                            bool create) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    // O_NOFOLLOW: a symbolic link is refused (ELOOP); O_NONBLOCK: a FIFO
    // cannot hang the start.
    const int fd =
        open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      absl::StatusOr<MasterKey> key = ReadKeyFd(path, fd);
      close(fd);
      return key;
    }
    if (errno == ELOOP) return KeyFileError(path, "is a symbolic link");
    if (errno != ENOENT || !create) {
      return absl::NotFoundError(absl::StrCat("connection key file ", path,
                                              ": ", std::strerror(errno)));
    }
    absl::StatusOr<MasterKey> created = CreateKeyFile(path);
    if (!absl::IsAlreadyExists(created.status())) return created;
    // Another instance created it first: use its key.
  }
  return KeyFileError(path, "keeps appearing and disappearing");
}

std::array<uint8_t, 16> ConnectionIdAddress(const PeerEndpoint& e) {
  std::array<uint8_t, 16> a{};
  if (e.family == AddressFamily::kV4) {
    a[10] = 0xff;
    a[11] = 0xff;
    std::memcpy(&a[12], e.ip.data(), 4);
  } else {
    a = e.ip;
  }
  return a;
}

ConnectionIds::ConnectionIds(MasterKey master, uint32_t now) : master_(master) {
  Refresh(now);
}

rt_conn_key ConnectionIds::KeyForEpoch(uint64_t epoch) const {
  // Domain-separated PRF outputs of the master key: (epoch ‖ label) as the
  // 16-byte "address" field, so no epoch key equals a connection-ID tag.
  uint8_t msg[16] = {};
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<uint8_t>(epoch >> (8 * i));
  std::memcpy(msg + 8, "rtkey-k", 7);
  rt_conn_key k;
  k.epoch = epoch;
  msg[15] = '0';
  k.k0 = rt_siphash24_conn(master_.k0, master_.k1, msg, 0);
  msg[15] = '1';
  k.k1 = rt_siphash24_conn(master_.k0, master_.k1, msg, 0);
  return k;
}

void ConnectionIds::StoreKey(uint64_t epoch) {
  Slot& s = slots_[epoch % RT_KEY_SLOTS];
  if (s.epoch.load(std::memory_order_relaxed) == epoch) return;
  const rt_conn_key k = KeyForEpoch(epoch);
  s.epoch.store(~0ULL, std::memory_order_relaxed);
  // Orders the invalidation before the key stores for a reader that sees
  // the new key but re-checks the epoch.
  std::atomic_thread_fence(std::memory_order_release);
  s.k0.store(k.k0, std::memory_order_relaxed);
  s.k1.store(k.k1, std::memory_order_relaxed);
  // Release: a reader that acquires this epoch sees the complete key.
  s.epoch.store(epoch, std::memory_order_release);
}

bool ConnectionIds::LoadKey(uint64_t epoch, rt_conn_key* out) const {
  const Slot& s = slots_[epoch % RT_KEY_SLOTS];
  if (s.epoch.load(std::memory_order_acquire) != epoch) return false;
  out->epoch = epoch;
  out->k0 = s.k0.load(std::memory_order_relaxed);
  out->k1 = s.k1.load(std::memory_order_relaxed);
  // Acquire fence: the re-check below is ordered after the key loads.
  std::atomic_thread_fence(std::memory_order_acquire);
  return s.epoch.load(std::memory_order_relaxed) == epoch;
}

void ConnectionIds::Refresh(uint32_t now) {
  const uint64_t e = now / RT_KEY_EPOCH_S;
  if (e > 0) StoreKey(e - 1);
  StoreKey(e);
  StoreKey(e + 1);
}

uint64_t ConnectionIds::Make(const PeerEndpoint& from, uint32_t now) const {
  rt_conn_key key;
  if (!LoadKey(now / RT_KEY_EPOCH_S, &key)) {
    key = KeyForEpoch(now / RT_KEY_EPOCH_S);  // Refresh() fell behind
  }
  const auto addr = ConnectionIdAddress(from);
  return rt_conn_id_make(&key, addr.data(), now);
}

bool ConnectionIds::Verify(uint64_t id, const PeerEndpoint& from,
                           uint32_t now) const {
  const uint32_t issued = static_cast<uint32_t>(id >> 32);
  if (issued > now + uint64_t{RT_CONN_ID_MAX_FUTURE_S}) return false;
  if (uint64_t{now} > uint64_t{issued} + RT_CONN_ID_LIFETIME_S) return false;
  rt_conn_key key;
  if (!LoadKey(issued / RT_KEY_EPOCH_S, &key)) return false;
  const auto addr = ConnectionIdAddress(from);
  const uint64_t expect = rt_conn_id_make(&key, addr.data(), issued);
  // Constant time: no early exit on the first differing bit.
  volatile uint64_t diff = expect ^ id;
  return diff == 0;
}

}  // namespace ringtrack
