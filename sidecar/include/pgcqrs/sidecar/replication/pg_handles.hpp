// RAII for libpq objects: connections, results and buffers libpq allocates.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace pgcqrs::sidecar::replication {

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct PgFreeDeleter {
  void operator()(char* p) const { PQfreemem(p); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;
using PgBufferPtr = std::unique_ptr<char, PgFreeDeleter>;

}  // namespace pgcqrs::sidecar::replication
