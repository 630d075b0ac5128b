-- Read-your-writes: the token a writer takes right after its commit.
-- write_token(), taken right after a commit, is at or past that commit's LSN: a reader that
-- waits until the read model's checkpoint reaches it sees the write.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');
INSERT INTO users (name, email) VALUES ('Hana', 'hana@example.com');
SELECT write_token() AS token \gset
SELECT (data::json->>'lsn')::pg_lsn <= :'token'::pg_lsn AS commit_covered_by_token
  FROM pg_logical_slot_get_changes('regress', NULL, NULL) WHERE data::json->>'type' = 'commit';
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
