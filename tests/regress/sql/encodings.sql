-- Encodings (docs/events.md, "Limits and encodings"): events are UTF-8 whatever the
-- database's encoding. A character with no UTF-8 equivalent (WIN1252 0x81, EUC_JP's
-- user-defined 0xF5A1) or a byte that is not UTF-8 in a SQL_ASCII database is sent as
-- U+FFFD and counted in "replaced"; decoding never stops for it. The events are shown as
-- bytes (encode(..., 'escape')): they are UTF-8, not text of the database's encoding.
\set regress_db :DBNAME
SET client_min_messages = warning;
CREATE DATABASE pgcqrs_win1252 ENCODING 'WIN1252' LOCALE 'C' TEMPLATE template0;
CREATE DATABASE pgcqrs_euc_jp ENCODING 'EUC_JP' LOCALE 'C' TEMPLATE template0;
CREATE DATABASE pgcqrs_latin1 ENCODING 'LATIN1' LOCALE 'C' TEMPLATE template0;
CREATE DATABASE pgcqrs_sql_ascii ENCODING 'SQL_ASCII' LOCALE 'C' TEMPLATE template0;
RESET client_min_messages;

-- WIN1252: 0x81 has no character; 0xE9 is é and 0x80 is €.
\c pgcqrs_win1252
CREATE EXTENSION pgcqrs;
SELECT 'init' FROM pg_create_logical_replication_slot('enc', 'pgcqrs');
CREATE FUNCTION changes() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT encode(data, 'escape') FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL,
    'include-xid', '0', 'include-lsn', '0', 'include-timestamps', '0')
$$;
CREATE FUNCTION b(hex text) RETURNS text LANGUAGE sql AS $$ SELECT convert_from(decode(hex, 'hex'), current_setting('server_encoding')) $$;
INSERT INTO users (name, email) VALUES ('A' || b('81') || 'B' || b('e9') || b('80'), 'win@example.com');
-- Two names that differ only in unmapped characters are different names: the rename is sent.
UPDATE users SET name = 'A' || b('8d') || 'B' || b('e9') || b('80') WHERE email = 'win@example.com';
SELECT * FROM changes();
-- The limit counts UTF-8 bytes: 524288 é (2 bytes each in UTF-8) are sent whole, one more
-- is cut to 524288, marked with the stored size (in WIN1252 bytes) and its digest.
INSERT INTO users (name, email) VALUES (repeat(b('e9'), 524288), 'edge@example.com');
INSERT INTO users (name, email) VALUES (repeat(b('e9'), 524289), 'over@example.com');
SELECT octet_length(data) AS message_bytes, substring(encode(data, 'escape') FROM '"truncated":.*') AS mark
  FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL, 'include-xid', '0', 'include-lsn', '0',
                                         'include-timestamps', '0')
 WHERE encode(data, 'escape') LIKE '{"type":"UserRegistered"%';
SELECT encode(sha256(convert_to(repeat(b('e9'), 524289), 'WIN1252')), 'hex') AS sha256_of_the_stored_bytes;
SELECT 'dropped' FROM pg_drop_replication_slot('enc');

-- EUC_JP: 0xF5A1 (user-defined area) has no UTF-8 equivalent; 0xA4A2 is あ. A value of
-- more than one conversion chunk (16384 bytes) whose characters straddle the chunk's end
-- converts without a replacement.
\c pgcqrs_euc_jp
CREATE EXTENSION pgcqrs;
SELECT 'init' FROM pg_create_logical_replication_slot('enc', 'pgcqrs');
CREATE FUNCTION changes() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT encode(data, 'escape') FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL,
    'include-xid', '0', 'include-lsn', '0', 'include-timestamps', '0')
$$;
CREATE FUNCTION b(hex text) RETURNS text LANGUAGE sql AS $$ SELECT convert_from(decode(hex, 'hex'), current_setting('server_encoding')) $$;
INSERT INTO users (name, email) VALUES ('x' || b('f5a1') || b('a4a2'), 'euc@example.com');
SELECT * FROM changes();
INSERT INTO users (name, email) VALUES ('x' || repeat(b('a4a2'), 10000), 'long@example.com');
SELECT octet_length(data) AS message_bytes, position('replaced' IN encode(data, 'escape')) AS replaced_at,
       position('\xefbfbd'::bytea IN data) AS replacement_at
  FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL, 'include-xid', '0', 'include-lsn', '0',
                                         'include-timestamps', '0')
 WHERE encode(data, 'escape') LIKE '{"type":"UserRegistered"%';
SELECT 'dropped' FROM pg_drop_replication_slot('enc');

-- LATIN1: every byte is a character (0x80-0x9F are the C1 controls, escaped in JSON).
\c pgcqrs_latin1
CREATE EXTENSION pgcqrs;
SELECT 'init' FROM pg_create_logical_replication_slot('enc', 'pgcqrs');
CREATE FUNCTION changes() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT encode(data, 'escape') FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL,
    'include-xid', '0', 'include-lsn', '0', 'include-timestamps', '0')
$$;
CREATE FUNCTION b(hex text) RETURNS text LANGUAGE sql AS $$ SELECT convert_from(decode(hex, 'hex'), current_setting('server_encoding')) $$;
INSERT INTO users (name, email) VALUES ('A' || b('81') || b('e9') || b('ff'), 'latin@example.com');
SELECT * FROM changes();
SELECT 'dropped' FROM pg_drop_replication_slot('enc');

-- SQL_ASCII: bytes are passed on; those that are not UTF-8 become U+FFFD, counted.
\c pgcqrs_sql_ascii
CREATE EXTENSION pgcqrs;
SELECT 'init' FROM pg_create_logical_replication_slot('enc', 'pgcqrs');
CREATE FUNCTION changes() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT encode(data, 'escape') FROM pg_logical_slot_get_binary_changes('enc', NULL, NULL,
    'include-xid', '0', 'include-lsn', '0', 'include-timestamps', '0')
$$;
CREATE FUNCTION b(hex text) RETURNS text LANGUAGE sql AS $$ SELECT convert_from(decode(hex, 'hex'), current_setting('server_encoding')) $$;
INSERT INTO users (name, email) VALUES ('A' || b('81') || b('c3a9') || b('e6'), 'ascii@example.com');
SELECT * FROM changes();
SELECT 'dropped' FROM pg_drop_replication_slot('enc');

\c :regress_db
DROP DATABASE pgcqrs_win1252;
DROP DATABASE pgcqrs_euc_jp;
DROP DATABASE pgcqrs_latin1;
DROP DATABASE pgcqrs_sql_ascii;
