-- Last test: drop the extension.
DROP EXTENSION pgcqrs;
DROP FUNCTION changes(name);
DROP FUNCTION try(text);
SELECT count(*) AS slots_left FROM pg_replication_slots;
