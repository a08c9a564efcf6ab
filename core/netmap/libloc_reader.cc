#include "core/netmap/libloc_reader.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern "C" {
#include <libloc/database.h>
#include <libloc/libloc.h>
#include <libloc/network.h>
}

namespace ringtrack {
namespace {

// RAII owners of libloc's reference-counted objects and the file.
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct CtxUnref {
  void operator()(loc_ctx* c) const { loc_unref(c); }
};
struct DbUnref {
  void operator()(loc_database* d) const { loc_database_unref(d); }
};
struct EnumUnref {
  void operator()(loc_database_enumerator* e) const {
    loc_database_enumerator_unref(e);
  }
};
struct NetUnref {
  void operator()(loc_network* n) const { loc_network_unref(n); }
};

}  // namespace

bool IsLibLocDatabase(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof(LOC_DATABASE_MAGIC) - 1] = {};
  return in.read(magic, sizeof(magic)) &&
         std::memcmp(magic, LOC_DATABASE_MAGIC, sizeof(magic)) == 0;
}

absl::StatusOr<std::unique_ptr<const NetworkMap>> LoadLibLocNetworkMap(
    const std::string& path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        path, ": cannot open the libloc database: ", std::strerror(errno)));
  }
  loc_ctx* raw_ctx = nullptr;
  if (loc_new(&raw_ctx) != 0) {
    return absl::InternalError("libloc: cannot make a context");
  }
  std::unique_ptr<loc_ctx, CtxUnref> ctx(raw_ctx);
  loc_database* raw_db = nullptr;
  if (loc_database_new(ctx.get(), &raw_db, f.get()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a libloc database libloc can read (expected e.g. ",
        kDefaultLibLocPath, " from Debian's libloc-database)"));
  }
  std::unique_ptr<loc_database, DbUnref> db(raw_db);
  loc_database_enumerator* raw_en = nullptr;
  if (loc_database_enumerator_new(&raw_en, db.get(), LOC_DB_ENUMERATE_NETWORKS,
                                  0) != 0) {
    return absl::InternalError(
        absl::StrCat(path, ": libloc cannot enumerate its networks"));
  }
  std::unique_ptr<loc_database_enumerator, EnumUnref> en(raw_en);
  NetworkMap::Builder b;
  for (;;) {
    loc_network* raw_net = nullptr;
    if (loc_database_enumerator_next_network(en.get(), &raw_net) != 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": libloc failed reading a network"));
    }
    if (raw_net == nullptr) break;
    std::unique_ptr<loc_network, NetUnref> net(raw_net);
    const in6_addr* first = loc_network_get_first_address(net.get());
    unsigned int length = loc_network_prefix(net.get());
    const uint32_t asn = loc_network_get_asn(net.get());
    // A network without an AS number inside one with it is a hole: its
    // addresses are outside the map, as libloc's own lookup would say.
    NetworkId id = kOutsideMap;
    if (asn != 0) {
      const char* cc = loc_network_get_country_code(net.get());
      id = b.Network(absl::StrCat("AS", asn),
                     cc != nullptr ? std::string_view(cc) : std::string_view());
    }
    if (loc_network_address_family(net.get()) == AF_INET) {
      // libloc keeps IPv4 as ::ffff:a.b.c.d; some versions report the
      // length within the 128 bits.
      if (length > 32) length -= 96;
      b.Add(AddressFamily::kV4,
            std::span<const uint8_t>(first->s6_addr + 12, 4), length, id);
    } else {
      b.Add(AddressFamily::kV6, std::span<const uint8_t>(first->s6_addr, 16),
            length, id);
    }
  }
  return std::move(b).Build();
}

}  // namespace ringtrack
