// log::Write's journald priority prefixes: written iff $JOURNAL_STREAM names
// stderr's own device and inode (stderr redirected to a file here), debug
// lines only then; fatal lines keep "ringtrackd: "; HumanBytes' units.
#include "daemon/log.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ringtrack::log {
namespace {

// Runs `body` in a child whose stderr is a fresh file, with JOURNAL_STREAM
// set to that file's dev:ino when `journal`, else to another inode's;
// returns what the child wrote. A child, because the daemon decides once
// per process whether stderr is the journal.
template <typename Body>
std::string CaptureChild(bool journal, Body body) {
  const std::string path = absl::StrCat("/tmp/rt_log_test_", getpid(), "_", journal);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(path.c_str(), "w", stderr);
    if (f == nullptr) _exit(3);
    struct stat st;
    fstat(STDERR_FILENO, &st);
    const std::string stream =
        absl::StrCat(st.st_dev, ":", journal ? st.st_ino : st.st_ino + 1);
    setenv("JOURNAL_STREAM", stream.c_str(), 1);
    body();
    std::fflush(stderr);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path.c_str());
  return text.str();
}

void EveryLevel() {
  Debug("a debug line %d", 7);
  Info("an info line");
  Warning("a warning line");
  Error("an error line");
  Fatal("a fatal line: %s", "exit 1");
}

TEST(Log, PriorityPrefixesWhenStderrIsTheJournal) {
  const std::string out = CaptureChild(true, EveryLevel);
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> got;
  while (std::getline(lines, line)) got.push_back(line);
  ASSERT_EQ(got.size(), 5u) << out;
  EXPECT_EQ(got[0].substr(0, 14), "<7>ringtrackd[");
  EXPECT_NE(got[0].find("] DEBUG a debug line 7"), std::string::npos);
  EXPECT_EQ(got[1].substr(0, 3), "<6>");
  EXPECT_NE(got[1].find(" INFO an info line"), std::string::npos);
  EXPECT_EQ(got[2].substr(0, 3), "<4>");
  EXPECT_NE(got[2].find(" WARN a warning line"), std::string::npos);
  EXPECT_EQ(got[3].substr(0, 3), "<3>");
  EXPECT_NE(got[3].find(" ERROR an error line"), std::string::npos);
  EXPECT_EQ(got[4], "<3>ringtrackd: a fatal line: exit 1");
}

TEST(Log, NoPrefixesAndNoDebugWhenStderrIsNotTheJournal) {
  // JOURNAL_STREAM inherited by a process whose stderr went elsewhere.
  const std::string out = CaptureChild(false, EveryLevel);
  EXPECT_EQ(out.find('<'), std::string::npos) << out;
  EXPECT_EQ(out.find("DEBUG"), std::string::npos) << out;
  EXPECT_NE(out.find(" INFO an info line\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nringtrackd: a fatal line: exit 1\n"), std::string::npos)
      << out;
}

TEST(Log, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1024), "1 KiB");
  EXPECT_EQ(HumanBytes(64ULL << 20), "64 MiB");
  EXPECT_EQ(HumanBytes(3ULL << 29), "1.5 GiB");
  EXPECT_EQ(HumanBytes(5ULL << 40), "5 TiB");
  EXPECT_EQ(HumanBytes((64ULL << 20) + 1), "64.0 MiB");
}

}  // namespace
}  // namespace ringtrack::log
