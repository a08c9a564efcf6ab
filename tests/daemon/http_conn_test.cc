// HttpConn, the connection machine both io loops share: framing, pipelining,
// keep-alive, the head limits and the output backpressure, byte for byte,
// with no sockets.
#include "daemon/http_conn.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

// Answers "R<n> <path>" with a numbered reply, closing when asked to or
// when the request line ends in "close".
class EchoResponder : public HttpResponder {
 public:
  HttpResponse Respond(std::span<const uint8_t> head, const PeerEndpoint&,
                       bool must_close, std::span<uint8_t> out) override {
    std::string_view h(reinterpret_cast<const char*>(head.data()), head.size());
    const std::string_view line = h.substr(0, h.find('\r'));
    last_must_close = must_close;
    // (must_close is honoured by the machine: ForceClose.)
    (void)must_close;
    const bool close = line.ends_with("close");
    std::string body = std::to_string(++n) + " " + std::string(line);
    std::string r = "HTTP/1.1 200 OK\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
    if (big) r.resize(kHttpMaxResponseBytes, 'x');
    std::copy(r.begin(), r.end(), out.begin());
    return {.size = r.size(), .close = close, .status = 200,
            .reason = HttpCloseReason::kResponseClose};
  }
  int n = 0;
  bool big = false;
  bool last_must_close = false;
};

class HttpConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.responder = &responder_;
    ctx_.in_small_pool = &in_small_pool_;
    ctx_.in_pool = &in_pool_;
    ctx_.out_pool = &out_pool_;
    ctx_.counters = &counters_;
    ctx_.limits.max_requests = 100;
    conn_.Reset(&ctx_, PeerEndpoint::V4(0x7f000001, 5555));
  }
  static std::span<const uint8_t> Bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  // Feeds `s` as the loops do: into RecvSpace() when the machine holds
  // part of a head, else as a shared buffer.
  HttpConn::Next Feed(std::string_view s) {
    const std::span<uint8_t> space = conn_.RecvSpace();
    if (space.empty()) return conn_.OnReceived(Bytes(s));
    EXPECT_LE(s.size(), space.size());
    std::copy(s.begin(), s.end(), space.begin());
    return conn_.OnReceivedInPlace(s.size());
  }
  std::string TakeOutput() {
    const std::span<const uint8_t> p = conn_.Pending();
    std::string s(reinterpret_cast<const char*>(p.data()), p.size());
    last_after_send_ = conn_.OnSent(p.size());
    return s;
  }

  EchoResponder responder_;
  HttpBufferPool in_small_pool_{kHttpRecvBytes};
  HttpBufferPool in_pool_{kHttpMaxHeadBytes};
  HttpBufferPool out_pool_{kHttpOutBufferBytes};
  HttpCounters counters_;
  HttpConnContext ctx_;
  HttpConn conn_;
  HttpConn::Next last_after_send_ = HttpConn::Next::kRecv;
};

TEST_F(HttpConnTest, OneHeadOneReplyThenIdle) {
  EXPECT_EQ(conn_.wait(), HttpConn::Wait::kHead);
  ASSERT_EQ(Feed("GET /a HTTP/1.1\r\n\r\n"), HttpConn::Next::kSend);
  EXPECT_NE(TakeOutput().find("1 GET /a HTTP/1.1"), std::string::npos);
  EXPECT_EQ(last_after_send_, HttpConn::Next::kRecv);
  EXPECT_EQ(conn_.wait(), HttpConn::Wait::kIdle);
  EXPECT_EQ(out_pool_.in_use(), 0u);  // an idle connection holds no buffer
  EXPECT_EQ(in_pool_.in_use(), 0u);
  EXPECT_EQ(in_small_pool_.in_use(), 0u);
}

TEST_F(HttpConnTest, PipelinedHeadsAnsweredInOrderInOneSend) {
  ASSERT_EQ(Feed("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\nGET /4"),
            HttpConn::Next::kSend);
  const std::string out = TakeOutput();
  const size_t a = out.find("1 GET /1"), b = out.find("2 GET /2"),
               c = out.find("3 GET /3");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  // "GET /4" is a partial head: kept, the head timeout runs.
  EXPECT_EQ(last_after_send_, HttpConn::Next::kRecv);
  EXPECT_EQ(conn_.wait(), HttpConn::Wait::kHead);
  EXPECT_FALSE(conn_.RecvSpace().empty());
  ASSERT_EQ(Feed(" HTTP/1.1\r\n\r\n"), HttpConn::Next::kSend);
  EXPECT_NE(TakeOutput().find("4 GET /4 HTTP/1.1"), std::string::npos);
}

TEST_F(HttpConnTest, HeadTrickledByteByByte) {
  const std::string head = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i + 1 < head.size(); ++i) {
    ASSERT_EQ(Feed(head.substr(i, 1)), HttpConn::Next::kRecv) << i;
    EXPECT_EQ(conn_.wait(), HttpConn::Wait::kHead);
  }
  ASSERT_EQ(Feed(head.substr(head.size() - 1)), HttpConn::Next::kSend);
  EXPECT_NE(TakeOutput().find("GET /slow"), std::string::npos);
}

TEST_F(HttpConnTest, LongHeadOutgrowsTheSmallBufferAndIsServed) {
  // A 5 000-byte head (a big scrape) in receives of kHttpRecvBytes.
  const std::string head =
      "GET /" + std::string(5000, 's') + " HTTP/1.1\r\n\r\n";
  HttpConn::Next n = HttpConn::Next::kRecv;
  size_t at = 0;
  while (at < head.size() && n == HttpConn::Next::kRecv) {
    const std::span<uint8_t> space = conn_.RecvSpace();
    const size_t k = std::min(head.size() - at,
                              space.empty() ? kHttpRecvBytes : space.size());
    n = Feed(std::string_view(head).substr(at, k));
    at += k;
    if (at < head.size()) {
      EXPECT_EQ(in_pool_.in_use() + in_small_pool_.in_use(), 1u);
    }
  }
  ASSERT_EQ(n, HttpConn::Next::kSend);
  EXPECT_EQ(at, head.size());
  EXPECT_EQ(in_pool_.in_use(), 0u);  // the whole head was answered
  EXPECT_NE(TakeOutput().find("1 GET /sss"), std::string::npos);
  EXPECT_EQ(in_pool_.in_use() + in_small_pool_.in_use(), 0u);
}

TEST_F(HttpConnTest, OversizedHeadGets431AndClose) {
  std::string head = "GET /" + std::string(kHttpMaxHeadBytes, 'a');
  ASSERT_EQ(Feed(std::string_view(head).substr(0, 1000)), HttpConn::Next::kRecv);
  HttpConn::Next n = HttpConn::Next::kRecv;
  for (size_t at = 1000; at < head.size() && n == HttpConn::Next::kRecv;) {
    const size_t k = std::min<size_t>(
        {500, head.size() - at, conn_.RecvSpace().size()});
    n = Feed(std::string_view(head).substr(at, k));
    at += k;
  }
  ASSERT_EQ(n, HttpConn::Next::kSend);
  EXPECT_TRUE(TakeOutput().starts_with("HTTP/1.1 431 "));
  EXPECT_EQ(last_after_send_, HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kHeadTooLarge);
  EXPECT_EQ(responder_.n, 0);
}

TEST_F(HttpConnTest, BytesThatCannotStartARequestGet400AndClose) {
  // A TLS ClientHello is refused at its first byte, not held to the limit.
  ASSERT_EQ(Feed("\x16\x03\x01\x02\x00"), HttpConn::Next::kSend);
  EXPECT_TRUE(TakeOutput().starts_with("HTTP/1.1 400 "));
  EXPECT_EQ(last_after_send_, HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kBadRequest);
  EXPECT_EQ(responder_.n, 0);
}

TEST(ForceClose, AddsOrReplacesTheConnectionField) {
  auto run = [](std::string r) {
    std::string buf = r + std::string(64, '\0');
    std::span<uint8_t> out(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
    return buf.substr(0, ForceClose(out, r.size()));
  };
  EXPECT_EQ(run("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab");
  EXPECT_EQ(run("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nab"),
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nab");
  const std::string closed =
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(run(closed), closed);
}

TEST_F(HttpConnTest, CloseReplyDropsWhatFollows) {
  ASSERT_EQ(Feed("GET /close\r\n\r\nGET /never HTTP/1.1\r\n\r\n"),
            HttpConn::Next::kSend);
  const std::string out = TakeOutput();
  EXPECT_EQ(out.find("/never"), std::string::npos);
  EXPECT_EQ(last_after_send_, HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kResponseClose);
}

TEST_F(HttpConnTest, RequestLimitClosesAfterTheLast) {
  ctx_.limits.max_requests = 2;
  conn_.Reset(&ctx_, PeerEndpoint::V4(1, 1));
  ASSERT_EQ(Feed("GET /1 HTTP/1.1\r\n\r\n"), HttpConn::Next::kSend);
  TakeOutput();
  EXPECT_FALSE(responder_.last_must_close);
  ASSERT_EQ(Feed("GET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
            HttpConn::Next::kSend);
  EXPECT_TRUE(responder_.last_must_close);
  const std::string out = TakeOutput();
  EXPECT_EQ(out.find("/3"), std::string::npos);
  // The last reply says so, though the responder did not.
  EXPECT_NE(out.rfind("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(last_after_send_, HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kRequestLimit);
}

TEST_F(HttpConnTest, FullOutputWaitsForTheSendThenAnswersTheRest) {
  responder_.big = true;  // each reply takes kHttpMaxResponseBytes
  std::string many;
  for (int i = 0; i < 5; ++i) many += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  ASSERT_EQ(Feed(many), HttpConn::Next::kSend);
  const size_t per_send = kHttpOutBufferBytes / kHttpMaxResponseBytes;
  EXPECT_EQ(responder_.n, static_cast<int>(per_send));
  int sends = 1;
  std::string out = TakeOutput();
  while (last_after_send_ == HttpConn::Next::kSend) {
    out += TakeOutput();
    ++sends;
  }
  EXPECT_EQ(responder_.n, 5);
  EXPECT_EQ(out.size(), 5 * kHttpMaxResponseBytes);
  EXPECT_GE(sends, 3);
  EXPECT_EQ(last_after_send_, HttpConn::Next::kRecv);
}

TEST_F(HttpConnTest, PartialSendResumes) {
  ASSERT_EQ(Feed("GET /a HTTP/1.1\r\n\r\n"), HttpConn::Next::kSend);
  const size_t total = conn_.Pending().size();
  EXPECT_EQ(conn_.OnSent(3), HttpConn::Next::kSend);
  EXPECT_EQ(conn_.Pending().size(), total - 3);
  EXPECT_EQ(conn_.wait(), HttpConn::Wait::kSend);
  EXPECT_EQ(conn_.OnSent(total - 3), HttpConn::Next::kRecv);
}

TEST_F(HttpConnTest, PeerCloseAndPoolExhaustion) {
  EXPECT_EQ(Feed(""), HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kPeerClosed);
  in_small_pool_.set_limit(0);
  conn_.Reset(&ctx_, PeerEndpoint::V4(1, 1));
  EXPECT_EQ(Feed("GET /partial"), HttpConn::Next::kClose);
  EXPECT_EQ(conn_.close_reason(), HttpCloseReason::kNoBuffer);
}

// Every split of a pipelined stream into two receives gives the same
// replies (the machine never loses or reorders bytes at a boundary).
TEST_F(HttpConnTest, EverySplitGivesTheSameReplies) {
  const std::string stream =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.0\r\n\r\n";
  std::string want;
  {
    ASSERT_EQ(Feed(stream), HttpConn::Next::kSend);
    want = TakeOutput();
  }
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    responder_.n = 0;
    conn_.Reset(&ctx_, PeerEndpoint::V4(1, 1));
    std::string got;
    if (Feed(std::string_view(stream).substr(0, cut)) == HttpConn::Next::kSend) {
      got += TakeOutput();
    }
    if (Feed(std::string_view(stream).substr(cut)) == HttpConn::Next::kSend) {
      got += TakeOutput();
    }
    EXPECT_EQ(got, want) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace ringtrack
