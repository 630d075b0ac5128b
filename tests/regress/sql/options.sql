-- Plugin options are strict: an unknown or repeated option is an error listing the valid ones.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');
INSERT INTO products (name, price) VALUES ('Optioned', 2.50);

SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'include-xids', '1');
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'include-lsn', 'maybe');
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'include-lsn', '0', 'include-lsn', '0');
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'format-version', '2');

-- Each switch removes exactly its fields.
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL,
  'format-version', '1', 'include-xid', 'off', 'include-lsn', 'off', 'include-timestamps', 'off');
SELECT json_object_keys(data::json) AS begin_keys
  FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'include-timestamps', 'off')
 WHERE data::json->>'type' = 'begin';

SELECT 'dropped' FROM pg_drop_replication_slot('regress');
