-- Text is always valid JSON, TOASTed values are emitted whole, and the output does not depend
-- on the session's settings.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

INSERT INTO users (name, email) VALUES
  (E'Quote " backslash \\ slash / tab \t newline \n cr \r bell \x07 esc \x1b', 'ctrl@example.com'),
  ('Zoë Ådne 日本語 ☕ 𝄞 🙂', 'unicode@example.com'),
  ('Colon: {braces} [brackets] ''single''', 'odd@example.com');
SELECT * FROM changes();

-- JSON consumers parse every message back to the same text.
INSERT INTO users (name, email) VALUES (E'round\ttrip "\u00e9" \\n', 'roundtrip@example.com');
SELECT m->>'name' = E'round\ttrip "\u00e9" \\n' AS name_round_trips
  FROM (SELECT data::json AS m FROM changes()) c WHERE m->>'type' = 'UserRegistered';

-- A 100 kB name is stored out of line (TOAST); it is emitted whole on INSERT, and an UPDATE
-- that does not touch it neither loses it nor reports it as changed.
INSERT INTO users (name, email)
  SELECT string_agg(md5(g::text), '' ORDER BY g), 'toast@example.com' FROM generate_series(1, 3200) g;
SELECT pg_relation_size(reltoastrelid) > 0 AS stored_out_of_line FROM pg_class WHERE relname = 'users';
UPDATE users SET email = 'toast2@example.com' WHERE email = 'toast@example.com';
UPDATE users SET name = name || '!' WHERE email = 'toast2@example.com';
SELECT m->>'type' AS type,
       length(m->>'name') AS name_length,
       length(m->>'old_name') AS old_name_length,
       m->>'name' = (SELECT name FROM users WHERE email = 'toast2@example.com') AS name_is_current,
       m->>'email' AS email
  FROM (SELECT data::json AS m FROM changes()) c WHERE m->>'type' NOT IN ('begin', 'commit');

-- Settings that change how timestamps and numbers print elsewhere change nothing here.
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = 3;
SET lc_monetary = 'C';
INSERT INTO users (name, email, created_at)
  VALUES ('Timely', 'time@example.com', '2026-01-02 03:04:05.123456+00');
INSERT INTO products (name, price) VALUES ('Precise', 1234567890.12);
SELECT data FROM pg_logical_slot_get_changes('regress', NULL, NULL, 'include-xid', '0', 'include-lsn', '0')
 WHERE data NOT LIKE '{"type":"begin"%';
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
RESET lc_monetary;

SELECT 'dropped' FROM pg_drop_replication_slot('regress');
