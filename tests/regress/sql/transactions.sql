-- Transaction boundaries: rollbacks, savepoints, several orders at once, commit order.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

-- A rolled-back transaction emits nothing.
BEGIN;
INSERT INTO users (name, email) VALUES ('Ghost', 'ghost@example.com');
ROLLBACK;

-- A savepoint rolled back inside a committed transaction: only what survived.
BEGIN;
INSERT INTO users (name, email) VALUES ('Hal', 'hal@example.com');
SAVEPOINT s1;
UPDATE users SET name = 'Hal 9000' WHERE email = 'hal@example.com';
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
UPDATE users SET email = 'hal@discovery.one' WHERE email = 'hal@example.com';
RELEASE SAVEPOINT s2;
COMMIT;

-- Several orders in one transaction.
BEGIN;
SELECT place_order(1, '[{"product_id": 1, "quantity": 1}]') AS first \gset
SELECT place_order(2, '[{"product_id": 2, "quantity": 2}, {"product_id": 1, "quantity": 1}]') AS second \gset
UPDATE orders SET status = 'paid' WHERE id = :first;
COMMIT;

-- A transaction that touches no write-model table emits nothing.
CREATE TABLE unrelated (x int);
INSERT INTO unrelated SELECT generate_series(1, 1000);

SELECT * FROM changes();

-- Two interleaved sessions come out in commit order, not in start order.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('dbname=%s host=127.0.0.1 port=%s user=%s',
                      current_database(), current_setting('port'), current_user));
BEGIN;
INSERT INTO users (name, email) VALUES ('First Started', 'first@example.com');
SELECT dblink_exec('other', $$INSERT INTO users (name, email) VALUES ('Second Started', 'second@example.com')$$);
UPDATE users SET name = 'First Started, Last Committed' WHERE email = 'first@example.com';
COMMIT;
SELECT dblink_disconnect('other');
SELECT * FROM changes();

-- A transaction far larger than logical_decoding_work_mem (64kB here) is spilled to disk
-- by the reorder buffer and still decodes whole and in order.
BEGIN;
INSERT INTO orders (user_id) SELECT 1 FROM generate_series(1, 3000);
INSERT INTO order_items (order_id, product_id, quantity)
  SELECT o.id, p.id, 1 FROM orders o CROSS JOIN products p WHERE o.id > :second;
COMMIT;
SELECT m->>'type' AS type, count(*),
       min((m->>'seq')::int) AS min_seq, max((m->>'seq')::int) AS max_seq
  FROM (SELECT data::json AS m FROM changes()) c GROUP BY 1 ORDER BY 1;

-- Two-phase commit: a prepared transaction is decoded when COMMIT PREPARED commits it, so it
-- comes after what committed in between; one ended by ROLLBACK PREPARED emits nothing.
BEGIN;
UPDATE users SET name = 'Hal, prepared' WHERE email = 'hal@discovery.one';
PREPARE TRANSACTION 'pgcqrs_committed';
BEGIN;
UPDATE users SET name = 'Never Committed' WHERE email = 'first@example.com';
PREPARE TRANSACTION 'pgcqrs_rolled_back';
UPDATE users SET name = 'Second, Committed Meanwhile' WHERE email = 'second@example.com';
COMMIT PREPARED 'pgcqrs_committed';
ROLLBACK PREPARED 'pgcqrs_rolled_back';
SELECT * FROM changes();

DROP TABLE unrelated;
DROP EXTENSION dblink;
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
