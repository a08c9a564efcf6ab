#include "core/io/batch_io.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace ringtrack {
namespace {

// A UDP socket bound to 127.0.0.1 on a kernel-chosen port.
struct Udp {
  Udp() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  }
  ~Udp() { close(fd); }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  int fd = -1;
  sockaddr_in addr{};
};

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(BatchIoTest, SendsAndReceivesABatchWithSourcesAndLengths) {
  Udp a, b;
  SendBatch out(8, 64);
  for (int i = 0; i < 5; ++i) {
    const std::string msg = "datagram " + std::to_string(i) + std::string(i, 'x');
    std::span<uint8_t> buf = out.buffer();
    std::memcpy(buf.data(), msg.data(), msg.size());
    out.Push(buf.first(msg.size()), b.sa(), sizeof(b.addr));
  }
  EXPECT_EQ(out.size(), 5);
  const SendBatch::Outcome o = out.Flush(a.fd, 0);
  EXPECT_EQ(o.sent, 5);
  EXPECT_EQ(o.failed, 0);
  EXPECT_EQ(o.first_unsent, 5);
  EXPECT_EQ(out.size(), 0);

  RecvBatch in(8, 2048);
  ASSERT_EQ(in.Receive(b.fd, 0), 5);
  for (int i = 0; i < 5; ++i) {
    const std::string want = "datagram " + std::to_string(i) + std::string(i, 'x');
    const std::span<const uint8_t> got = in.data(i);
    EXPECT_EQ(std::string(got.begin(), got.end()), want);
    EXPECT_FALSE(in.truncated(i));
    ASSERT_EQ(in.from_len(i), sizeof(sockaddr_in));
    const auto* from = reinterpret_cast<const sockaddr_in*>(in.from(i));
    EXPECT_EQ(from->sin_port, a.addr.sin_port);
  }
  // Nothing more: -1/EAGAIN and an empty batch.
  EXPECT_EQ(in.Receive(b.fd, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(in.size(), 0);
}

TEST(BatchIoTest, ReceiveReArmsLengthsAndReportsTruncation) {
  Udp a, b;
  RecvBatch in(4, 8);
  for (int round = 0; round < 3; ++round) {
    // A long datagram, then a short one: the short one's slot must not
    // keep the long one's length, nor the long one's MSG_TRUNC.
    const std::string longer(20, 'L'), shorter = "s";
    sendto(a.fd, longer.data(), longer.size(), 0, b.sa(), sizeof(b.addr));
    sendto(a.fd, shorter.data(), shorter.size(), 0, b.sa(), sizeof(b.addr));
    ASSERT_EQ(in.Receive(b.fd, 0), 2);
    EXPECT_TRUE(in.truncated(0));
    EXPECT_EQ(in.data(0).size(), 8u);
    EXPECT_EQ(in.wire_size(0), 20u);
    EXPECT_FALSE(in.truncated(1));
    EXPECT_EQ(in.data(1).size(), 1u);
    EXPECT_EQ(in.wire_size(1), 1u);
    // And the next round starts from the first slot again.
    sendto(a.fd, shorter.data(), shorter.size(), 0, b.sa(), sizeof(b.addr));
    ASSERT_EQ(in.Receive(b.fd, 0), 1);
    EXPECT_FALSE(in.truncated(0));
    EXPECT_EQ(in.data(0).size(), 1u);
  }
}

TEST(BatchIoTest, AFailedMessageIsSkippedNotTheRest) {
  Udp a, b;
  sockaddr_in broadcast{};  // refused without SO_BROADCAST: EACCES
  broadcast.sin_family = AF_INET;
  broadcast.sin_port = b.addr.sin_port;
  broadcast.sin_addr.s_addr = htonl(INADDR_BROADCAST);
  SendBatch out(8, 0);
  const std::string msg = "payload";
  for (int i = 0; i < 6; ++i) {
    const bool bad = i == 1 || i == 4;
    out.Push(Bytes(msg),
             bad ? reinterpret_cast<const sockaddr*>(&broadcast) : b.sa(),
             sizeof(sockaddr_in));
  }
  const SendBatch::Outcome o = out.Flush(a.fd, 0);
  EXPECT_EQ(o.sent, 4);
  EXPECT_EQ(o.failed, 2);
  EXPECT_EQ(o.first_unsent, 6);
  RecvBatch in(8, 64);
  EXPECT_EQ(in.Receive(b.fd, 0), 4);
}

// A Unix datagram pair pushes back when the reader's queue is full, so
// EAGAIN comes for certain: the flush stops there and says where.
TEST(BatchIoTest, AFullSocketBufferStopsTheFlush) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  int small = 16384;  // the kernel doubles it: room for a few datagrams
  ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  SendBatch out(64, 0);
  const std::string msg(4096, 'q');
  while (!out.full()) out.Push(Bytes(msg), nullptr, 0);
  const SendBatch::Outcome o = out.Flush(sv[0], MSG_DONTWAIT);
  EXPECT_GT(o.sent, 0);
  EXPECT_LT(o.first_unsent, 64);
  EXPECT_EQ(o.failed, 0);
  EXPECT_EQ(o.sent, o.first_unsent);
  RecvBatch in(64, 8192);
  EXPECT_EQ(in.Receive(sv[1], MSG_DONTWAIT), o.sent);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace ringtrack
