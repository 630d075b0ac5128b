// PostgreSQL zone: write_token(), the position a reader waits for to see this session's writes
// (docs/consistency.md). Plain C calls only: nothing here owns a C++ object.
#include "pg_headers.h"

extern "C" {
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "utils/pg_lsn.h"

PG_FUNCTION_INFO_V1(pgcqrs_write_token);
Datum pgcqrs_write_token(PG_FUNCTION_ARGS);
}

// The WAL insert position, flushed. The walsender decodes only flushed WAL, and another
// session's open transaction may have inserted records after our commit that nobody flushes
// until it commits: without the flush, the slot (and so the read models' checkpoint) could
// not reach the token before that, or before the sidecar's next idle heartbeat. The flush
// writes no WAL and costs nothing when everything is flushed already (a synchronous commit
// just flushed it).
Datum pgcqrs_write_token(PG_FUNCTION_ARGS) {
  if (RecoveryInProgress())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("recovery is in progress"),
                    errhint("write_token() must be called on the primary, in the session that wrote.")));
  XLogRecPtr at = GetXLogInsertRecPtr();
  // On a page that holds no record yet the insert position lies past the page's header: the
  // end of the last record is the page's start. Flushing past it fails ("xlog flush request
  // is not satisfied"), and the walsender reports the page's start, so the token is that.
  if (XLogSegmentOffset(at, wal_segment_size) == SizeOfXLogLongPHD)
    at -= SizeOfXLogLongPHD;
  else if (at % XLOG_BLCKSZ == SizeOfXLogShortPHD)
    at -= SizeOfXLogShortPHD;
  XLogFlush(at);
  PG_RETURN_LSN(at);
}
