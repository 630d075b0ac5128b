// The replication connection (wal_source.hpp): START_REPLICATION at start-up, then CopyBoth
// on the loop: libpq's buffer read dry before waiting on the socket, status updates flushed
// when the socket takes them.
#include "pgcqrs/sidecar/replication/wal_source.hpp"

#include <boost/asio/post.hpp>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/pg_connect.hpp"

namespace pgcqrs::sidecar::replication {

namespace asio = boost::asio;

namespace {
std::string quote_ident(const std::string& s) { return "\"" + s + "\""; }
}  // namespace

Failure command_failure(const std::string& what, PGconn* conn, const PGresult* r) {
  const char* code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = code ? code : "";
  ErrorKind kind = sqlstate_kind(sqlstate);
  std::string fix = kind == ErrorKind::permanent ? sqlstate_fix(sqlstate) : "";
  std::string message = what + ": " + one_line(PQerrorMessage(conn));
  if (!sqlstate.empty()) message += " (SQLSTATE " + sqlstate + ")";
  return Failure(Server::postgresql, kind, with_fix(message, fix));
}

PgConnPtr connect_replication(const std::string& conninfo) {
  // TCP keepalives notice a vanished server within about a minute; the user's connection
  // string (expanded after them) can override them.
  return pg_connect(conninfo, {{"keepalives_idle", "30"}, {"keepalives_interval", "10"}, {"keepalives_count", "3"}},
                    {{"replication", "database"}, {"application_name", "pgcqrs-sidecar"}});
}

void start_replication(PGconn* conn, const std::string& slot, uint64_t lsn) {
  std::string cmd = "START_REPLICATION SLOT " + quote_ident(slot) + " LOGICAL " + pgcqrs::format_lsn(lsn) +
                    " (\"format-version\" '1', \"framing\" 'transaction')";
  PgResultPtr r(PQexec(conn, cmd.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COPY_BOTH)
    throw command_failure("START_REPLICATION on slot " + slot + " failed", conn, r.get());
  if (PQsetnonblocking(conn, 1) != 0)
    throw Failure(Server::postgresql, ErrorKind::transient, "cannot make the replication connection non-blocking");
}

std::string WalSource::open(PgConnPtr conn, Consumer consumer) {
  boost::system::error_code ec;
  sd_.assign(PQsocket(conn.get()), ec);
  if (ec) return "cannot watch the replication socket: " + ec.message();
  conn_ = std::move(conn);
  consumer_ = std::move(consumer);
  return "";
}

void WalSource::read() {
  bool read_again = false;
  while (conn_ && !stopped_) {
    if (!consumer_.can_take()) {
      paused_ = true;  // backpressure: resume() goes on
      return;
    }
    char* raw = nullptr;
    int n = PQgetCopyData(conn_.get(), &raw, 1);
    PgBufferPtr buf(raw);
    if (n > 0) {
      read_again = false;
      if (!handle(std::string_view(raw, static_cast<size_t>(n)))) return;
      continue;
    }
    if (n == 0) {
      // libpq's buffer is empty; the socket may not be. Read it dry before deciding.
      if (!read_again) {
        read_again = true;
        if (PQconsumeInput(conn_.get()) == 0)
          return fail(std::string("lost the PostgreSQL replication connection: ") + PQerrorMessage(conn_.get()));
        continue;
      }
      consumer_.drained();
      if (!conn_ || stopped_) return;
      return arm_read();
    }
    if (n == -1) {
      PgResultPtr res(PQgetResult(conn_.get()));
      return fail(std::string("PostgreSQL ended the replication stream: ") + PQerrorMessage(conn_.get()));
    }
    return fail(std::string("replication stream read failed: ") + PQerrorMessage(conn_.get()));
  }
}

// Returns false when reading must stop (the consumer ended, or the message was unreadable).
bool WalSource::handle(std::string_view bytes) {
  auto msg = decode_server_message(bytes);
  if (auto* e = std::get_if<DecodeError>(&msg)) {
    fail("bad replication message: " + e->message);
    return false;
  }
  bool go_on = std::holds_alternative<Keepalive>(msg) ? consumer_.keepalive(std::get<Keepalive>(msg))
                                                      : consumer_.data(std::get<XLogData>(msg));
  return go_on && conn_ && !stopped_;
}

void WalSource::arm_read() {
  if (read_armed_) return;
  read_armed_ = true;
  auto weak = weak_from_this();
  sd_.async_wait(asio::posix::stream_descriptor::wait_read, [weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->read_armed_ = false;
    if (ec || !self->conn_ || self->stopped_) return;
    if (PQconsumeInput(self->conn_.get()) == 0)
      return self->fail(std::string("lost the PostgreSQL replication connection: ") +
                        PQerrorMessage(self->conn_.get()));
    self->read();
  });
}

void WalSource::resume() {
  if (!paused_) return;
  paused_ = false;
  auto weak = weak_from_this();
  asio::post(io_, [weak] {
    if (auto self = weak.lock(); self && self->conn_) self->read();
  });
}

void WalSource::stop_reading() {
  stopped_ = true;
  boost::system::error_code ec;
  sd_.cancel(ec);
}

void WalSource::send_status(uint64_t written, uint64_t flushed, uint64_t applied, int64_t now_pg_us,
                            bool reply_requested) {
  if (!conn_) return;
  auto msg = encode_status_update(written, flushed, applied, now_pg_us, reply_requested);
  if (PQputCopyData(conn_.get(), msg.data(), static_cast<int>(msg.size())) != 1)
    return fail(std::string("cannot send a status update to PostgreSQL: ") + PQerrorMessage(conn_.get()));
  flush();
}

void WalSource::flush() {
  int r = PQflush(conn_.get());
  if (r < 0) return fail(std::string("cannot write to PostgreSQL: ") + PQerrorMessage(conn_.get()));
  if (r == 0 || write_armed_) return;
  write_armed_ = true;
  auto weak = weak_from_this();
  sd_.async_wait(asio::posix::stream_descriptor::wait_write, [weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->write_armed_ = false;
    if (ec || !self->conn_) return;
    self->flush();
  });
}

void WalSource::end_copy() {
  if (!conn_) return;
  PQputCopyEnd(conn_.get(), nullptr);
  PQflush(conn_.get());
}

void WalSource::fail(const std::string& message) {
  auto failed = consumer_.failed;
  if (failed) failed(Failure(Server::postgresql, ErrorKind::transient, message));
}

void WalSource::close() {
  if (sd_.is_open()) {
    boost::system::error_code ec;
    sd_.cancel(ec);
    sd_.release();  // libpq owns the socket
  }
  conn_.reset();  // the consumer stays: close() may run inside one of its callbacks
}

}  // namespace pgcqrs::sidecar::replication
