-- Read-your-writes: the token a writer takes right after its commit.
-- write_token(), taken right after a commit, is at or past that commit's LSN: a reader that
-- waits until the read model's checkpoint reaches it sees the write.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');
INSERT INTO users (name, email) VALUES ('Hana', 'hana@example.com');
SELECT write_token() AS token \gset
SELECT (data::json->>'lsn')::pg_lsn <= :'token'::pg_lsn AS commit_covered_by_token
  FROM pg_logical_slot_get_changes('regress', NULL, NULL) WHERE data::json->>'type' = 'commit';
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
-- The token is flushed: the walsender decodes only flushed WAL, and an open transaction
-- beside the writer may hold unflushed WAL past the writer's commit (here, its own).
BEGIN;
INSERT INTO products (name, price) VALUES ('Unflushed', 1);
SELECT write_token() <= pg_current_wal_flush_lsn() AS token_flushed;
ROLLBACK;
-- On a page that holds no record yet, the insert position lies past the page's header: the
-- token is the page's start, where the last record ended (flushing past it would fail).
CREATE TEMP TABLE boundary (insert_at pg_lsn, token pg_lsn);
DO $$
DECLARE
  before pg_lsn;
  overhead bigint;
  room bigint;
BEGIN
  FOR attempt IN 1..50 LOOP
    before := pg_current_wal_insert_lsn();
    PERFORM pg_logical_emit_message(false, 'regress', repeat('a', 512));
    -- A record that crossed into another page also holds that page's header: measure again.
    CONTINUE WHEN (before - '0/0'::pg_lsn)::bigint / 8192 <>
                  (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint / 8192;
    overhead := (pg_current_wal_insert_lsn() - before)::bigint - 512;
    room := 8192 - (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint % 8192;
    CONTINUE WHEN room - overhead < 300;  -- a record this short has another header size
    PERFORM pg_logical_emit_message(false, 'regress', repeat('a', (room - overhead)::int));
    IF (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint % 8192 = 24 THEN
      INSERT INTO boundary SELECT pg_current_wal_insert_lsn(), write_token();
      RETURN;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'no record ended at a page boundary in 50 attempts';
END $$;
SELECT token = insert_at - 24 AS token_is_page_start, token <= pg_current_wal_flush_lsn() AS flushed
  FROM boundary;
