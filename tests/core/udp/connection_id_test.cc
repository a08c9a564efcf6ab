#include "core/udp/connection_id.h"

#include <gtest/gtest.h>
#include <vector>
#include <thread>
#include <atomic>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace ringtrack {
namespace {

constexpr uint32_t kT0 = 1'800'000'000;  // some Unix time
const PeerEndpoint kAlice = PeerEndpoint::V4(0x7f000001, 1000);
const PeerEndpoint kBob = PeerEndpoint::V4(0x7f000002, 1000);

TEST(ConnectionIdTest, ValidForItsLifetimeFromItsAddress) {
  ConnectionIds ids(MasterKey{1, 2}, kT0);
  const uint64_t id = ids.Make(kAlice, kT0);
  EXPECT_EQ(id >> 32, kT0);
  EXPECT_TRUE(ids.Verify(id, kAlice, kT0));
  EXPECT_TRUE(ids.Verify(id, kAlice, kT0 + RT_CONN_ID_LIFETIME_S));
  // The port is not part of the ID: a client may use another socket.
  EXPECT_TRUE(ids.Verify(id, PeerEndpoint::V4(0x7f000001, 2000), kT0));
}

TEST(ConnectionIdTest, ExpiredRefused) {
  ConnectionIds ids(MasterKey{1, 2}, kT0);
  const uint64_t id = ids.Make(kAlice, kT0);
  EXPECT_FALSE(ids.Verify(id, kAlice, kT0 + RT_CONN_ID_LIFETIME_S + 1));
}

TEST(ConnectionIdTest, FutureDatedRefused) {
  ConnectionIds ids(MasterKey{1, 2}, kT0);
  const uint64_t soon = ids.Make(kAlice, kT0 + RT_CONN_ID_MAX_FUTURE_S);
  EXPECT_TRUE(ids.Verify(soon, kAlice, kT0));
  const uint64_t later = ids.Make(kAlice, kT0 + RT_CONN_ID_MAX_FUTURE_S + 1);
  EXPECT_FALSE(ids.Verify(later, kAlice, kT0));
}

TEST(ConnectionIdTest, OtherAddressRefused) {
  ConnectionIds ids(MasterKey{1, 2}, kT0);
  EXPECT_FALSE(ids.Verify(ids.Make(kAlice, kT0), kBob, kT0));
  uint8_t ip6[16] = {0xfd};
  const PeerEndpoint v6 = PeerEndpoint::V6(ip6, 1);
  EXPECT_TRUE(ids.Verify(ids.Make(v6, kT0), v6, kT0));
  EXPECT_FALSE(ids.Verify(ids.Make(v6, kT0), kAlice, kT0));
}

TEST(ConnectionIdTest, ForgedRefused) {
  ConnectionIds ids(MasterKey{1, 2}, kT0);
  const uint64_t id = ids.Make(kAlice, kT0);
  for (int bit = 0; bit < 64; ++bit) {
    EXPECT_FALSE(ids.Verify(id ^ (1ULL << bit), kAlice, kT0)) << bit;
  }
  ConnectionIds other(MasterKey{1, 3}, kT0);
  EXPECT_FALSE(ids.Verify(other.Make(kAlice, kT0), kAlice, kT0));
  // A guessed tag with a fresh time.
  EXPECT_FALSE(ids.Verify((uint64_t{kT0} << 32) | 0x12345678, kAlice, kT0));
}

TEST(ConnectionIdTest, PreviousKeyValidAcrossRotation) {
  const uint32_t boundary = (kT0 / RT_KEY_EPOCH_S + 1) * RT_KEY_EPOCH_S;
  ConnectionIds ids(MasterKey{5, 6}, boundary - 10);
  const uint64_t id = ids.Make(kAlice, boundary - 10);
  // Rotate into the next epoch: the new key is different...
  ids.Refresh(boundary + 60);
  EXPECT_NE(ids.KeyForEpoch(boundary / RT_KEY_EPOCH_S).k0,
            ids.KeyForEpoch(boundary / RT_KEY_EPOCH_S - 1).k0);
  const uint64_t fresh = ids.Make(kAlice, boundary + 60);
  EXPECT_NE(static_cast<uint32_t>(fresh), static_cast<uint32_t>(id));
  // ...and the ID issued under the previous key still verifies in window.
  EXPECT_TRUE(ids.Verify(id, kAlice, boundary + 60));
  EXPECT_TRUE(ids.Verify(fresh, kAlice, boundary + 60));
  EXPECT_FALSE(ids.Verify(id, kAlice, boundary + 111));
}

TEST(ConnectionIdTest, InstancesSharingAMasterAgree) {
  ConnectionIds a(MasterKey{9, 9}, kT0), b(MasterKey{9, 9}, kT0 + 50);
  EXPECT_TRUE(b.Verify(a.Make(kAlice, kT0), kAlice, kT0 + 50));
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/ringtrack_key_" + std::to_string(getpid());
    Remove();
  }
  void TearDown() override { Remove(); }
  void Remove() {
    std::remove(path_.c_str());
    rmdir(path_.c_str());
  }
  // Writes `text` as a private key file (mode 0600).
  void Write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_) << text;
    chmod(path_.c_str(), mode);
  }
  std::string Refusal() {
    auto k = LoadMasterKeyFile(path_, true);
    EXPECT_FALSE(k.ok());
    return std::string(k.status().message());
  }
  static constexpr const char* kHex = "00112233445566778899aabbccddeeff\n";
  std::string path_;
};

TEST_F(KeyFileTest, ReadsHexKey) {
  Write("  00112233445566778899AABBCCDDEEFF\n");
  auto key = LoadMasterKeyFile(path_, false);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->k0, 0x0011223344556677ULL);
  EXPECT_EQ(key->k1, 0x8899aabbccddeeffULL);
}

TEST_F(KeyFileTest, CreatesMissingFileAndRereadsSameKey) {
  auto made = LoadMasterKeyFile(path_, true);
  ASSERT_TRUE(made.ok()) << made.status();
  auto again = LoadMasterKeyFile(path_, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(made->k0, again->k0);
  EXPECT_EQ(made->k1, again->k1);
}

TEST_F(KeyFileTest, RejectsMalformedAndMissing) {
  EXPECT_FALSE(LoadMasterKeyFile(path_, false).ok());
  Write("0011");
  auto bad = LoadMasterKeyFile(path_, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("32 hexadecimal"), std::string::npos);
  Write("zz112233445566778899aabbccddeeff");
  EXPECT_FALSE(LoadMasterKeyFile(path_, false).ok());
}

TEST_F(KeyFileTest, CreatedFileIsPrivate) {
  ASSERT_TRUE(LoadMasterKeyFile(path_, true).ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
}

TEST_F(KeyFileTest, RefusesWhatIsNotARegularFile) {
  ASSERT_EQ(mkdir(path_.c_str(), 0700), 0);
  EXPECT_NE(Refusal().find("not a regular file"), std::string::npos);
  rmdir(path_.c_str());
  ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0);  // must not hang either
  EXPECT_NE(Refusal().find("not a regular file"), std::string::npos);
  std::remove(path_.c_str());
  const std::string target = path_ + ".target";
  std::ofstream(target) << kHex;
  chmod(target.c_str(), 0600);
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  EXPECT_NE(Refusal().find("symbolic link"), std::string::npos);
  std::remove(target.c_str());
}

TEST_F(KeyFileTest, RefusesAFileOthersCanReadOrWrite) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    Write(kHex, mode);
    EXPECT_NE(Refusal().find("group or others"), std::string::npos) << mode;
  }
  Write(kHex, 0400);  // read-only for us is fine
  EXPECT_TRUE(LoadMasterKeyFile(path_, false).ok());
}

TEST_F(KeyFileTest, RefusesAFileOwnedByAnotherUser) {
  Write(kHex);
  const uid_t other = geteuid() == 0 ? 65534 : geteuid();
  if (other == geteuid()) GTEST_SKIP() << "needs root to chown";
  ASSERT_EQ(chown(path_.c_str(), other, static_cast<gid_t>(-1)), 0);
  EXPECT_NE(Refusal().find("owned by uid 65534"), std::string::npos);
}

TEST_F(KeyFileTest, RacingFirstStartsAgreeOnOneKey) {
  for (int round = 0; round < 20; ++round) {
    Remove();
    std::vector<MasterKey> keys(8);
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (size_t t = 0; t < keys.size(); ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) {
        }
        auto k = LoadMasterKeyFile(path_, true);
        ASSERT_TRUE(k.ok()) << k.status();
        keys[t] = *k;
      });
    }
    go = true;
    for (auto& th : threads) th.join();
    for (const MasterKey& k : keys) {
      EXPECT_EQ(k.k0, keys[0].k0);
      EXPECT_EQ(k.k1, keys[0].k1);
    }
  }
}

TEST_F(KeyFileTest, LeftoversOfACrashDoNotBlockTheNextStart) {
  // A crash mid-creation leaves at most a temporary file, never a partial
  // key at the real path.
  std::ofstream(path_ + ".tmp.abc123") << "0011";
  auto k = LoadMasterKeyFile(path_, true);
  ASSERT_TRUE(k.ok()) << k.status();
  std::remove((path_ + ".tmp.abc123").c_str());
}

}  // namespace
}  // namespace ringtrack
