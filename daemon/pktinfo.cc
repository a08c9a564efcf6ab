#include "daemon/pktinfo.h"

#include <errno.h>

#include <cstring>

namespace ringtrack {

absl::Status EnableDestinationInfo(int fd, int family) {
  const int one = 1;
  const int r = family == AF_INET
                    ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
                    : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
                                 sizeof(one));
  if (r != 0) return absl::ErrnoToStatus(errno, "IP_PKTINFO");
  return absl::OkStatus();
}

size_t ReplyControlFrom(const cmsghdr* c, uint8_t* out) {
  auto* h = reinterpret_cast<cmsghdr*>(out);
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
      c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
    in_pktinfo got;
    std::memcpy(&got, CMSG_DATA(c), sizeof(got));
    in_pktinfo reply{};
    reply.ipi_spec_dst = got.ipi_addr;  // source of the reply
    reply.ipi_ifindex = 0;              // let routing pick the interface
    h->cmsg_level = IPPROTO_IP;
    h->cmsg_type = IP_PKTINFO;
    h->cmsg_len = CMSG_LEN(sizeof(reply));
    std::memcpy(CMSG_DATA(h), &reply, sizeof(reply));
    return CMSG_SPACE(sizeof(reply));
  }
  if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
      c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
    in6_pktinfo got;
    std::memcpy(&got, CMSG_DATA(c), sizeof(got));
    // Keep the interface: a link-local destination needs it.
    h->cmsg_level = IPPROTO_IPV6;
    h->cmsg_type = IPV6_PKTINFO;
    h->cmsg_len = CMSG_LEN(sizeof(got));
    std::memcpy(CMSG_DATA(h), &got, sizeof(got));
    return CMSG_SPACE(sizeof(got));
  }
  return 0;
}

}  // namespace ringtrack
