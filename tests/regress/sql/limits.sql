-- Size limits (docs/events.md, "Limits and encodings"): a text value is sent as at most
-- 1048576 bytes of UTF-8, an application message may have 1048576 bytes; past either the
-- value is cut at a character boundary and marked with its size and SHA-256, and decoding
-- goes on. Each case sits on the edge of its limit.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

-- The text fields of one message as sizes, with their marks.
CREATE FUNCTION sized(data text) RETURNS TABLE (
    type text, message_bytes int, field text, sent_bytes int, cut_from bigint, sha256 text,
    replaced bigint)
LANGUAGE sql AS $$
  SELECT m->>'type', octet_length(data), f, octet_length(m->>f),
         (m->'truncated'->f->>'bytes')::bigint, m->'truncated'->f->>'sha256',
         (m->'replaced'->>f)::bigint
    FROM (SELECT data::jsonb AS m) j, jsonb_object_keys(m) f
   WHERE f IN ('name', 'old_name', 'email', 'raw')
$$;
CREATE FUNCTION hex_sha256(value bytea) RETURNS text LANGUAGE sql AS $$ SELECT encode(sha256(value), 'hex') $$;

-- A name of exactly the limit is sent whole; a product name one byte over it is cut to the
-- limit and marked with the stored size and the digest of the stored bytes.
INSERT INTO users (name, email) VALUES (repeat('a', 1048576), 'edge@example.com');
INSERT INTO products (name, price) VALUES (repeat('b', 1048577), 1);
SELECT s.type, s.message_bytes, s.field, s.sent_bytes, s.cut_from, s.replaced,
       s.sha256 = hex_sha256(convert_to(repeat('b', 1048577), 'UTF8')) AS digest_matches
  FROM changes() c, sized(c.data) s ORDER BY s.type, s.field;

-- A character that would straddle the limit is left out whole: 1048575 bytes are sent.
INSERT INTO users (name, email) VALUES (repeat('x', 1048575) || '日', 'straddle@example.com');
SELECT s.type, s.field, s.sent_bytes, s.cut_from, right(c.data::jsonb->>'name', 1) = 'x' AS ends_before_it
  FROM changes() c, sized(c.data) s WHERE s.field = 'name';

-- Control characters cost 6 bytes each in JSON (\u0001): the message stays near 6 MiB.
INSERT INTO users (name, email) VALUES (repeat(chr(1), 1048577), 'control@example.com');
SELECT s.type, s.message_bytes, s.field, s.sent_bytes, s.cut_from
  FROM changes() c, sized(c.data) s WHERE s.field = 'name';

-- Two names equal in their first 1048576 bytes are still different names: the rename is
-- sent, each side with its own size and digest.
UPDATE users SET name = repeat('a', 1048576) || '1' WHERE email = 'control@example.com';
UPDATE users SET name = repeat('a', 1048576) || '2' WHERE email = 'control@example.com';
UPDATE users SET name = repeat('a', 1048576) || '2' WHERE email = 'control@example.com';
SELECT s.type, s.field, s.sent_bytes, s.cut_from,
       s.sha256 = hex_sha256(convert_to(repeat('a', 1048576) || CASE WHEN s.field = 'name' THEN '2' ELSE '1' END, 'UTF8'))
         AS digest_matches
  FROM changes() c, sized(c.data) s
 WHERE c.data::jsonb->>'type' = 'UserRenamed' AND c.data::jsonb->>'old_name' LIKE 'aaaa%'
 ORDER BY c.data::jsonb->'seq', s.field;

-- An application message of exactly 1048576 bytes passes through; one byte more is an
-- InvalidMessage whose raw text is cut to the limit and marked.
BEGIN;
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type":"Big","s":"' || repeat('x', 1048576 - 21) || '"}');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type":"Big","s":"' || repeat('x', 1048576 - 20) || '"}');
COMMIT;
SELECT c.data::jsonb->>'type' AS type, c.data::jsonb->>'reason' AS reason,
       octet_length(c.data::jsonb->'payload'->>'s') AS payload_s_bytes, s.field, s.sent_bytes, s.cut_from,
       s.sha256 = hex_sha256(convert_to('{"type":"Big","s":"' || repeat('x', 1048576 - 20) || '"}', 'UTF8'))
         AS digest_matches
  FROM changes() c LEFT JOIN LATERAL sized(c.data) s ON true
 WHERE c.data::jsonb->>'type' NOT IN ('begin', 'commit');

-- Invalid bytes in a message become U+FFFD (3 bytes each), counted; the raw text stops at
-- the limit: 349525 replacements fill 1048575 bytes.
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', decode(repeat('ff', 400000), 'hex'));
SELECT s.type, s.field, s.sent_bytes, s.cut_from, s.replaced,
       s.sha256 = hex_sha256(decode(repeat('ff', 400000), 'hex')) AS digest_matches
  FROM changes() c, sized(c.data) s;

-- Decoding is still fine afterwards.
INSERT INTO users (name, email) VALUES ('After', 'after@example.com');
SELECT * FROM changes();

DELETE FROM users WHERE email IN ('after@example.com', 'control@example.com', 'straddle@example.com',
                                  'edge@example.com');
DELETE FROM products WHERE name = repeat('b', 1048577);
SELECT c.data::jsonb->>'type' AS type, count(*) FROM changes() c GROUP BY 1 ORDER BY 1;
DROP FUNCTION sized(text);
DROP FUNCTION hex_sha256(bytea);
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
