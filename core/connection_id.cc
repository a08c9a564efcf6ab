#include "core/connection_id.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

absl::StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path,
                                            bool create) {
  std::ifstream in(path);
  if (!in) {
    if (errno != ENOENT || !create) {
      return absl::NotFoundError(absl::StrCat("connection key file ", path,
                                              ": ", std::strerror(errno)));
    }
    const MasterKey key = RandomMasterKey();
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create connection key file ", path, ": ",
                       std::strerror(errno)));
    }
    const std::string text = absl::StrFormat("%016x%016x\n", key.k0, key.k1);
    const bool ok = write(fd, text.data(), text.size()) ==
                    static_cast<ssize_t>(text.size());
    close(fd);
    if (!ok) return absl::InternalError("short write to " + path);
    return key;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text(absl::StripAsciiWhitespace(ss.str()));
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
