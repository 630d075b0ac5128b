-- TRUNCATE of write-model tables is one Truncated event naming them; others are ignored.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');
CREATE TABLE scratch (x int);
TRUNCATE scratch;
TRUNCATE orders CASCADE;
TRUNCATE users, products, order_items, scratch CASCADE;
SELECT * FROM changes();
DROP TABLE scratch;
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
