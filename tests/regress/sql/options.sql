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

-- framing 'transaction': one output row per transaction, its messages one per line, the
-- same lines as framing 'message' gives one row each.
INSERT INTO products (name, price) VALUES ('Framed', 1.25), ('Framed too', 3.00);
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL,
  'framing', 'transaction', 'include-xid', 'off', 'include-lsn', 'off', 'include-timestamps', 'off');
SELECT count(*) AS rows_per_message FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'framing', 'message');
SELECT count(*) AS rows_per_transaction FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'framing', 'transaction');
SELECT (SELECT string_agg(data, E'\n' ORDER BY ordinality)
          FROM pg_logical_slot_peek_changes('regress', NULL, NULL) WITH ORDINALITY)
     = (SELECT string_agg(data, E'\n' ORDER BY ordinality)
          FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'framing', 'transaction') WITH ORDINALITY)
       AS same_lines;
-- A transaction larger than a frame (1 MB) goes out in several, cut between messages.
INSERT INTO products (name, price) SELECT 'Bulk product ' || g, 1 FROM generate_series(1, 12000) g;
SELECT count(*) AS frames,
       sum(array_length(string_to_array(data, E'\n'), 1)) AS lines,
       max(length(data)) BETWEEN 1048576 AND 1048576 + 200 AS first_frame_cut_past_1mb,
       bool_and(data LIKE '{%}') AS whole_messages
  FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'framing', 'transaction',
    'include-xid', 'off', 'include-lsn', 'off', 'include-timestamps', 'off');
SELECT data FROM pg_logical_slot_peek_changes('regress', NULL, NULL, 'framing', 'batch');

SELECT 'dropped' FROM pg_drop_replication_slot('regress');
