#include "core/cli/tracker_url.h"

#include <gtest/gtest.h>

#include <string>

namespace ringtrack {
namespace {

struct Case {
  const char* text;
  TrackerScheme scheme;
  const char* host;
  uint16_t port;
  const char* path;
};

TEST(TrackerUrlTest, ParsesTheFormsUsersPaste) {
  const Case cases[] = {
      {"udp://tracker.example.org:6969/announce", TrackerScheme::kUdp,
       "tracker.example.org", 6969, "/announce"},
      {"udp://127.0.0.1:1337", TrackerScheme::kUdp, "127.0.0.1", 1337, ""},
      {"UDP://[::1]:6969/announce", TrackerScheme::kUdp, "::1", 6969,
       "/announce"},
      {"127.0.0.1:6969", TrackerScheme::kUdp, "127.0.0.1", 6969, ""},
      {"[::1]:6969", TrackerScheme::kUdp, "::1", 6969, ""},
      {"localhost:1", TrackerScheme::kUdp, "localhost", 1, ""},
      {"http://127.0.0.1:6969/announce", TrackerScheme::kHttp, "127.0.0.1",
       6969, "/announce"},
      {"http://[2001:db8::1]:8080/announce", TrackerScheme::kHttp,
       "2001:db8::1", 8080, "/announce"},
      {"http://[::ffff:127.0.0.1]:80/announce", TrackerScheme::kHttp,
       "::ffff:127.0.0.1", 80, "/announce"},
      // Defaults: port 80, path /announce.
      {"http://tracker.example.org/announce", TrackerScheme::kHttp,
       "tracker.example.org", 80, "/announce"},
      {"http://tracker.example.org:6969", TrackerScheme::kHttp,
       "tracker.example.org", 6969, "/announce"},
      {"HTTP://[::1]", TrackerScheme::kHttp, "::1", 80, "/announce"},
      // Query strings (private trackers' passkeys) are kept as written;
      // fragments are dropped.
      {"http://t.example:80/announce.php?passkey=ab%20cd",
       TrackerScheme::kHttp, "t.example", 80, "/announce.php?passkey=ab%20cd"},
      {"http://t.example:80?x=1", TrackerScheme::kHttp, "t.example", 80,
       "/?x=1"},
      {"http://t.example:80/announce#top", TrackerScheme::kHttp, "t.example",
       80, "/announce"},
      {"udp://t.example:65535/announce?passkey=1", TrackerScheme::kUdp,
       "t.example", 65535, "/announce?passkey=1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TrackerUrl> u = ParseTrackerUrl(c.text);
    ASSERT_TRUE(u.ok()) << c.text << ": " << u.status();
    EXPECT_EQ(u->scheme, c.scheme) << c.text;
    EXPECT_EQ(u->host, c.host) << c.text;
    EXPECT_EQ(u->port, c.port) << c.text;
    EXPECT_EQ(u->path, c.path) << c.text;
  }
}

TEST(TrackerUrlTest, RefusesWithAMessageThatSaysWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://t.example/announce", "https:// is not supported"},
      {"wss://t.example:1/announce", "unknown scheme 'wss'"},
      {"udp://t.example/announce", "needs a :PORT"},
      {"127.0.0.1", "no :PORT"},
      {"::1:6969", "in brackets"},
      {"udp://::1:6969", "in brackets"},
      {"[::1]6969", "expected ':PORT'"},
      {"[::1:6969", "closing ']'"},
      {"[example.org]:1", "is not an IPv6 address"},
      {"udp://:6969", "no host"},
      {":6969", "no host"},
      {"", "no host"},
      {"http://", "no host"},
      {"udp://h:0/announce", "1..65535"},
      {"udp://h:65536/announce", "1..65535"},
      {"udp://h:x/announce", "1..65535"},
      {"udp://h:/announce", "1..65535"},
      {"http://h:123456/", "1..65535"},
      {"http://user:pw@h:80/announce", "credentials"},
      {"http://h:80/an nounce", "space or a control"},
      {"http://h_h!:80/", "not a host name"},
      {"127.0.0.1:6969/announce", "a path needs a scheme"},
  };
  for (const auto& [text, why] : cases) {
    absl::StatusOr<TrackerUrl> u = ParseTrackerUrl(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_TRUE(absl::IsInvalidArgument(u.status())) << text;
    EXPECT_NE(std::string(u.status().message()).find(why), std::string::npos)
        << text << " → " << u.status();
    // The message quotes what the user typed.
    EXPECT_NE(std::string(u.status().message()).find(std::string("'") + text),
              std::string::npos)
        << u.status();
  }
}

TEST(TrackerUrlTest, NeverFailsOnAnyPrefixOrSuffixOfAUrl) {
  // Every prefix of a URL parses or fails cleanly (no crash, no port 0).
  const std::string full =
      "http://[2001:db8::1]:6969/announce.php?passkey=x#frag";
  for (size_t n = 0; n <= full.size(); ++n) {
    for (const std::string& text : {full.substr(0, n), full.substr(n)}) {
      absl::StatusOr<TrackerUrl> u = ParseTrackerUrl(text);
      if (u.ok()) {
        EXPECT_NE(u->port, 0) << text;
      }
    }
  }
}

TEST(TrackerUrlTest, CanonicalFormBracketsIpv6) {
  EXPECT_EQ(ParseTrackerUrl("[::1]:6969")->ToString(), "udp://[::1]:6969");
  EXPECT_EQ(ParseTrackerUrl("http://[::1]:1/a")->Authority(), "[::1]:1");
  EXPECT_EQ(ParseTrackerUrl("http://h")->ToString(), "http://h:80/announce");
  for (const char* text :
       {"udp://[::1]:6969/announce", "http://127.0.0.1:80/announce?k=1"}) {
    EXPECT_EQ(ParseTrackerUrl(text)->ToString(), text);
  }
}

}  // namespace
}  // namespace ringtrack
