// PostgreSQL zone: text values into the contract's UTF-8, bounded and never raising. The
// conversion is PostgreSQL's own (the default conversion procedure, called with noError);
// a character it cannot convert becomes U+FFFD and the conversion goes on after it.
#include "pgcqrs/core/limits.hpp"
#include "pgcqrs/core/utf8.hpp"
#include "pgcqrs/boundary.hpp"

#include "text_image.h"

namespace pgcqrs {
namespace {

// Input bytes handed to one call of the conversion procedure.
constexpr size_t conversion_chunk = 16384;

// The procedure converting the database encoding to UTF-8; InvalidOid when none is needed
// (UTF8, SQL_ASCII) or none exists. The database encoding never changes in a session.
Oid conversion_proc() {
  static bool looked_up = false;
  static Oid proc = InvalidOid;
  if (!looked_up) {
    int encoding = GetDatabaseEncoding();
    if (encoding != PG_UTF8 && encoding != PG_SQL_ASCII) proc = FindDefaultConversionProc(encoding, PG_UTF8);
    looked_up = true;
  }
  return proc;
}

// Records that v.s is a prefix of the stored bytes: their size and SHA-256, so that a
// consumer can still tell values apart and check one against the database.
void mark_cut(Value& v, const char* data, size_t len) {
  v.cut = true;
  v.stored_bytes = len;
  uint8 digest[PG_SHA256_DIGEST_LENGTH];
  pg_cryptohash_ctx* ctx = pg_cryptohash_create(PG_SHA256);
  bool ok = ctx && pg_cryptohash_init(ctx) == 0 &&
            pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(data), len) == 0 &&
            pg_cryptohash_final(ctx, digest, sizeof digest) == 0;
  if (ctx) pg_cryptohash_free(ctx);
  if (!ok) return;  // no digest rather than an error: the stream must go on
  static constexpr char hex[] = "0123456789abcdef";
  char* text = static_cast<char*>(palloc(2 * PG_SHA256_DIGEST_LENGTH));
  for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; ++i) {
    text[2 * i] = hex[digest[i] >> 4];
    text[2 * i + 1] = hex[digest[i] & 0xF];
  }
  v.sha256 = std::string_view(text, 2 * PG_SHA256_DIGEST_LENGTH);
}

Value with_identity(Value v, const char* data, size_t len) {
  v.has_stored = true;
  v.stored = std::string_view(data, len);
  return v;
}

// Bytes that should be UTF-8, copied as valid UTF-8 and cut at max_text_bytes.
Value copy_utf8(const char* data, size_t len) {
  size_t cap = len < max_text_bytes / 3 ? len * 3 : max_text_bytes;  // U+FFFD triples a byte
  char* out = static_cast<char*>(palloc(cap + 1));
  utf8::CopyResult r;
  PGCQRS_CXX(r = utf8::copy_valid(std::string_view(data, len), out, cap));
  Value v = Value::text(std::string_view(out, r.written));
  v.replaced = r.replaced;
  if (r.consumed < len) mark_cut(v, data, len);
  return v;
}

// Appends piece (valid UTF-8) to out within cap; false if it had to be cut.
bool append_within(char* out, size_t& written, size_t cap, const char* piece, size_t n) {
  size_t fits = n;
  if (n > cap - written) PGCQRS_CXX(fits = utf8::cut(std::string_view(piece, n), cap - written));
  memcpy(out + written, piece, fits);
  written += fits;
  return fits == n;
}

// Bytes in the database encoding, converted to UTF-8 by proc, cut at max_text_bytes.
Value convert_to_utf8(const char* data, size_t len, Oid proc) {
  int encoding = GetDatabaseEncoding();
  // One byte becomes at most 3 bytes of UTF-8 (U+FFFD, or a BMP character of a
  // single-byte encoding); no server encoding grows more per byte.
  size_t cap = len < max_text_bytes / 3 ? len * 3 : max_text_bytes;
  char* out = static_cast<char*>(palloc(cap + 1));
  size_t chunk_max = len < conversion_chunk ? len : conversion_chunk;
  int dest_size = static_cast<int>(chunk_max * MAX_CONVERSION_GROWTH + 1);
  unsigned char* dest = static_cast<unsigned char*>(palloc(dest_size));
  size_t written = 0, pos = 0;
  uint64_t replaced = 0;
  bool complete = true;
  while (pos < len) {
    size_t chunk_end = pos + (len - pos < chunk_max ? len - pos : chunk_max);
    int n = static_cast<int>(chunk_end - pos);
    int done = pg_do_encoding_conversion_buf(proc, encoding, PG_UTF8,
                                             reinterpret_cast<unsigned char*>(const_cast<char*>(data + pos)), n,
                                             dest, dest_size, true);
    if (!append_within(out, written, cap, reinterpret_cast<char*>(dest), strlen(reinterpret_cast<char*>(dest)))) {
      complete = false;
      break;
    }
    pos += done;
    if (pos == chunk_end) continue;
    // Stopped before data[pos]: a character split by the chunk's end (converted by the next
    // call), one with no UTF-8 equivalent, or bytes invalid in the encoding.
    int char_len = pg_encoding_verifymbchar(encoding, data + pos, static_cast<int>(len - pos));
    if (char_len > 0 && pos + char_len > chunk_end) continue;
    if (!append_within(out, written, cap, utf8::replacement.data(), utf8::replacement.size())) {
      complete = false;
      break;
    }
    ++replaced;
    pos += char_len > 0 ? char_len : 1;
  }
  pfree(dest);
  Value v = Value::text(std::string_view(out, written));
  v.replaced = replaced;
  if (!complete) mark_cut(v, data, len);
  return v;
}

}  // namespace

Value text_image(const char* data, size_t len) {
  Oid proc = conversion_proc();
  Value v = proc == InvalidOid ? copy_utf8(data, len) : convert_to_utf8(data, len, proc);
  return with_identity(v, data, len);
}

Value utf8_image(const char* data, size_t len) {
  return with_identity(copy_utf8(data, len), data, len);
}

Value unrendered_image(const char* data, size_t len) {
  Value v = Value::text(std::string_view());
  mark_cut(v, data, len);
  return with_identity(v, data, len);
}

}  // namespace pgcqrs
