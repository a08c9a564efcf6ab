// daemon/state_file.h on real files: LoadState()'s verdicts (only contents
// it read are kDataLoss; a FIFO, a symbolic link, a file too large for the
// budget are refused from fstat without reading), the writer lock, temp
// files that never follow a planted link, and the set-aside and
// PATH.previous names that never replace an existing file.
#include "daemon/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/memory_budget.h"
#include "gtest/gtest.h"

namespace ringtrack {
namespace {

constexpr uint32_t kNow = 1800000000;

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringtrack_state_file_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state";
  }
  void TearDown() override {
    std::system(("rm -rf " + dir_).c_str());
  }

  // A table holding one swarm of `peers` IPv4 peers seen at kNow.
  static void Fill(SwarmTable& t, int peers) {
    SwarmRecord r;
    r.info_hash.bytes[0] = 0xab;
    r.completed = 3;
    for (int i = 0; i < peers; ++i) {
      PeerRecord p;
      p.peer.family = AddressFamily::kV4;
      p.peer.ip = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
      p.peer.port = 6881;
      p.last_seen = kNow;
      r.peers.push_back(p);
    }
    RestoreCounts c;
    t.Restore(r, kNow, &c);
  }

  static std::string Read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  static void Write(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }

  absl::StatusOr<StateLoadResult> Load(uint64_t max_bytes = UINT64_MAX) {
    SwarmTable t{SwarmTableConfig{}};
    return LoadState(t, path_, kNow, nullptr, max_bytes);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StateFileTest, SavedFileRestoresWhole) {
  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 100);
  ASSERT_TRUE(SaveState(t, path_, kNow).ok());
  absl::StatusOr<StateLoadResult> r = Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->restored.peers, 100u);
  EXPECT_EQ(r->restored.swarms, 1u);
}

TEST_F(StateFileTest, MissingFileIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(Load().status()));
}

TEST_F(StateFileTest, OnlyContentsReadAndRefusedAreDataLoss) {
  for (const std::string& data :
       {std::string(""), std::string("d8:announce"), std::string(200, 'x')}) {
    Write(path_, data);
    EXPECT_TRUE(absl::IsDataLoss(Load().status())) << Load().status();
  }
  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 10);
  ASSERT_TRUE(SaveState(t, path_, kNow).ok());
  std::string good = Read(path_);
  good[good.size() / 2] ^= 1;
  Write(path_, good);
  absl::Status s = Load().status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s;
}

TEST_F(StateFileTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0);
  absl::Status s = Load().status();  // a blocking open would hang here
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(absl::IsDataLoss(s) || absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("not a regular file (a FIFO)"), std::string::npos)
      << s;
}

TEST_F(StateFileTest, DirectoryAndSymlinkAreRefusedUnjudged) {
  ASSERT_EQ(mkdir(path_.c_str(), 0700), 0);
  absl::Status s = Load().status();
  EXPECT_FALSE(absl::IsDataLoss(s) || absl::IsNotFound(s) || s.ok()) << s;
  ASSERT_EQ(rmdir(path_.c_str()), 0);

  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 10);
  const std::string target = dir_ + "/elsewhere";
  ASSERT_TRUE(SaveState(t, target, kNow).ok());
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  s = Load().status();
  EXPECT_FALSE(absl::IsDataLoss(s) || absl::IsNotFound(s) || s.ok()) << s;
  EXPECT_NE(s.message().find("is a symbolic link"), std::string::npos) << s;
}

TEST_F(StateFileTest, UnreadableFileIsNotDataLoss) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads a mode 000 file";
  Write(path_, "RTSTATE\n");
  ASSERT_EQ(chmod(path_.c_str(), 0), 0);
  absl::Status s = Load().status();
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
}

TEST_F(StateFileTest, TooLargeIsRefusedFromItsSize) {
  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 100);
  ASSERT_TRUE(SaveState(t, path_, kNow).ok());
  const uint64_t size = Read(path_).size();
  EXPECT_TRUE(Load(size).ok());
  absl::Status s = Load(size - 1).status();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_NE(s.message().find("raise --max-memory"), std::string::npos) << s;
}

TEST(MaxStateFileBytes, IsElevenEighthsOfTheBudgetPlusHeaderAndTrailer) {
  EXPECT_EQ(MaxStateFileBytes(64 << 20), 48u + (64u << 20) / 8 * 11);
  EXPECT_EQ(MaxStateFileBytes(1), 48u + 11);
  EXPECT_EQ(MaxStateFileBytes(UINT64_MAX), UINT64_MAX);
}

// The bound is sound: a table filled to its budget saves a smaller file.
TEST(MaxStateFileBytes, AFullBudgetSavesWithinIt) {
  char tmpl[] = "/tmp/ringtrack_state_bound_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/state";
  const std::pair<AddressFamily, uint32_t> kShapes[] = {
      {AddressFamily::kV4, 1}, {AddressFamily::kV6, 1}, {AddressFamily::kV4, 64}};
  for (const auto& [family, per_swarm] : kShapes) {
    MemoryBudget budget(4 << 20);
    SwarmTableConfig c;
    c.budget = &budget;
    c.initial_slots = 1024;
    SwarmTable t(c);
    // Swarms of `per_swarm` peers from distinct addresses until the budget
    // refuses: one peer per swarm is the most file bytes per budget byte
    // for swarm headers, many IPv4 peers per swarm the most for peers.
    RestoreCounts counts;
    uint32_t peer = 0;
    for (uint32_t i = 0; counts.refused == 0; ++i) {
      SwarmRecord r;
      std::memcpy(r.info_hash.bytes.data(), &i, 4);
      for (uint32_t k = 0; k < per_swarm; ++k, ++peer) {
        PeerRecord p;
        p.peer.family = family;
        std::memcpy(p.peer.ip.data(), &peer, 4);
        p.peer.port = 1;
        p.last_seen = kNow;
        r.peers.push_back(p);
      }
      t.Restore(r, kNow, &counts);
    }
    absl::StatusOr<StateSaveResult> saved = SaveState(t, path, kNow);
    ASSERT_TRUE(saved.ok()) << saved.status();
    EXPECT_LE(saved->bytes, MaxStateFileBytes(budget.limit()))
        << saved->peers << " peers";
  }
  std::system(absl::StrCat("rm -rf ", tmpl).c_str());
}

TEST_F(StateFileTest, SecondLockOnTheSameFileNamesTheHolder) {
  absl::StatusOr<StateFileLock> first = StateFileLock::Acquire(path_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Read(path_ + ".lock"), absl::StrCat(getpid(), "\n"));
  // flock locks belong to the open file description: a second open in the
  // same process conflicts like another process would.
  absl::StatusOr<StateFileLock> second = StateFileLock::Acquire(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status()));
  EXPECT_NE(second.status().message().find(absl::StrCat("pid ", getpid(), " ")),
            std::string::npos)
      << second.status();
  first = absl::FailedPreconditionError("released");
  EXPECT_TRUE(StateFileLock::Acquire(path_).ok());
}

TEST_F(StateFileTest, LockFileSymlinkIsNeverFollowed) {
  const std::string target = dir_ + "/precious";
  Write(target, "precious");
  ASSERT_EQ(symlink(target.c_str(), (path_ + ".lock").c_str()), 0);
  absl::StatusOr<StateFileLock> lock = StateFileLock::Acquire(path_);
  EXPECT_FALSE(lock.ok());
  EXPECT_EQ(Read(target), "precious");
}

TEST_F(StateFileTest, SaveNeverFollowsALinkAtTheOldTempName) {
  const std::string target = dir_ + "/precious";
  Write(target, "precious");
  ASSERT_EQ(symlink(target.c_str(), (path_ + ".tmp").c_str()), 0);
  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 10);
  ASSERT_TRUE(SaveState(t, path_, kNow).ok());
  EXPECT_EQ(Read(target), "precious");
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, StaleTempFilesAreRemovedAndNothingElse) {
  Write(path_ + ".tmp-AbC123", "half a save");
  Write(path_ + ".tmp-AbC12", "not ours: five characters");
  Write(path_ + ".tmp", "not ours: the old fixed name");
  Write(dir_ + "/other.tmp-AbC123", "not ours: another file's");
  const std::string target = dir_ + "/precious";
  Write(target, "precious");
  ASSERT_EQ(symlink(target.c_str(), (path_ + ".tmp-XyZ789").c_str()), 0);
  EXPECT_EQ(RemoveStaleStateTempFiles(path_), 1);
  EXPECT_NE(access((path_ + ".tmp-AbC123").c_str(), F_OK), 0);
  EXPECT_EQ(access((path_ + ".tmp-AbC12").c_str(), F_OK), 0);
  EXPECT_EQ(access((path_ + ".tmp").c_str(), F_OK), 0);
  EXPECT_EQ(access((dir_ + "/other.tmp-AbC123").c_str(), F_OK), 0);
  EXPECT_EQ(Read(path_ + ".tmp-XyZ789"), "precious");  // the link stays
}

TEST_F(StateFileTest, SetAsideNeverReplacesAnEarlierOne) {
  Write(path_, "first");
  absl::StatusOr<std::string> a = SetStateFileAside(path_, kNow);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, absl::StrCat(path_, ".refused-", kNow));
  Write(path_, "second");
  absl::StatusOr<std::string> b = SetStateFileAside(path_, kNow);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, absl::StrCat(path_, ".refused-", kNow, ".1"));
  EXPECT_EQ(Read(*a), "first");
  EXPECT_EQ(Read(*b), "second");
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
}

TEST_F(StateFileTest, PreviousSurvivesTheNextSave) {
  SwarmTable t{SwarmTableConfig{}};
  Fill(t, 50);
  ASSERT_TRUE(SaveState(t, path_, kNow).ok());
  const std::string full = Read(path_);
  Write(path_ + ".previous", "an earlier one");
  absl::StatusOr<std::string> prev = KeepStateFileAsPrevious(path_);
  ASSERT_TRUE(prev.ok()) << prev.status();
  EXPECT_EQ(*prev, path_ + ".previous.1");
  SwarmTable smaller{SwarmTableConfig{}};
  Fill(smaller, 5);
  ASSERT_TRUE(SaveState(smaller, path_, kNow).ok());
  EXPECT_EQ(Read(*prev), full);
  EXPECT_EQ(Read(path_ + ".previous"), "an earlier one");
  EXPECT_NE(Read(path_), full);
}

}  // namespace
}  // namespace ringtrack
