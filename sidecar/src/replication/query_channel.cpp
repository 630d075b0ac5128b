// Non-blocking libpq queries on the event loop (query_channel.hpp): send, flush while the
// socket is writable, then consume input while it is readable until libpq has every result.
#include "pgcqrs/sidecar/replication/query_channel.hpp"

#include <boost/asio/post.hpp>

#include "pgcqrs/sidecar/failure.hpp"

namespace pgcqrs::sidecar::replication {

namespace asio = boost::asio;

std::string QueryChannel::open(PgConnPtr conn) {
  close();
  if (PQsetnonblocking(conn.get(), 1) != 0) return "cannot make the query connection non-blocking";
  boost::system::error_code ec;
  sd_.assign(PQsocket(conn.get()), ec);
  if (ec) return "cannot watch the query connection's socket: " + ec.message();
  conn_ = std::move(conn);
  return "";
}

bool QueryChannel::run(const std::string& sql, const std::vector<std::string>& params, Done done) {
  if (!conn_ || busy_) return false;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  busy_ = true;
  done_ = std::move(done);
  result_ = {};
  if (PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0) != 1) {
    complete(one_line(PQerrorMessage(conn_.get())));
    return true;
  }
  flush();
  return true;
}

void QueryChannel::flush() {
  int r = PQflush(conn_.get());
  if (r < 0) return complete(one_line(PQerrorMessage(conn_.get())));
  if (r == 1) return wait(asio::posix::stream_descriptor::wait_write);
  read();
}

void QueryChannel::read() {
  if (PQconsumeInput(conn_.get()) == 0) {
    // The connection is gone; an error the server sent before closing it (a FATAL at
    // shutdown) is still among the results, with its SQLSTATE.
    while (PgResultPtr res{PQgetResult(conn_.get())}) take_error(res.get());
    return complete(one_line(PQerrorMessage(conn_.get())));
  }
  while (!PQisBusy(conn_.get())) {
    PgResultPtr res(PQgetResult(conn_.get()));
    if (!res) return complete(result_.error);
    auto status = PQresultStatus(res.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      if (result_.error.empty()) result_.error = one_line(PQresultErrorMessage(res.get()));
      take_error(res.get());
    } else if (result_.row.empty() && PQntuples(res.get()) > 0) {
      for (int c = 0; c < PQnfields(res.get()); ++c)
        result_.row.push_back(PQgetisnull(res.get(), 0, c) ? std::nullopt
                                                            : std::optional<std::string>(PQgetvalue(res.get(), 0, c)));
    }
  }
  wait(asio::posix::stream_descriptor::wait_read);
}

void QueryChannel::take_error(const PGresult* res) {
  if (!result_.sqlstate.empty()) return;
  if (const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) result_.sqlstate = state;
}

void QueryChannel::wait(asio::posix::stream_descriptor::wait_type type) {
  if (waiting_) return;
  waiting_ = true;
  auto weak = weak_from_this();
  sd_.async_wait(type, [weak, type](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->waiting_ = false;
    if (ec || !self->conn_ || !self->busy_) return;
    if (type == asio::posix::stream_descriptor::wait_write)
      self->flush();
    else
      self->read();
  });
}

void QueryChannel::complete(std::string error) {
  busy_ = false;
  Result r = std::move(result_);
  r.error = std::move(error);
  result_ = {};
  // Always from the loop, never inside run(): the caller's state is settled when it runs.
  auto weak = weak_from_this();
  asio::post(io_, [weak, generation = generation_, done = std::move(done_), r = std::move(r)] {
    if (auto self = weak.lock(); self && self->generation_ == generation) done(r);
  });
  done_ = nullptr;
}

void QueryChannel::close() {
  ++generation_;  // a completion already posted is dropped
  busy_ = false;
  done_ = nullptr;
  if (sd_.is_open()) {
    boost::system::error_code ec;
    sd_.cancel(ec);
    sd_.release();  // libpq owns the socket
  }
  conn_.reset();
}

}  // namespace pgcqrs::sidecar::replication
