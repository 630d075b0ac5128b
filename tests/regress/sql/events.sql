-- Every domain event type, from plain SQL.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com');
INSERT INTO users (name, email, is_active) VALUES ('Bob', 'bob@example.com', false);
UPDATE users SET name = 'Ada Lovelace' WHERE id = 1;
UPDATE users SET email = 'ada@lovelace.org' WHERE id = 1;
UPDATE users SET is_active = false WHERE id = 1;
UPDATE users SET is_active = true WHERE id = 1;
UPDATE users SET name = 'Bobby', is_active = true WHERE id = 2;
UPDATE users SET name = name;  -- changes nothing: no event

INSERT INTO products (name, price) VALUES ('Widget', 9.99), ('Gadget', 5), ('Gizmo', 0.5);
UPDATE products SET name = 'Widget Pro' WHERE id = 1;
UPDATE products SET price = 11.50 WHERE id = 1;
UPDATE products SET is_active = false WHERE id = 3;
UPDATE products SET is_active = true, price = 0.75 WHERE id = 3;

SELECT place_order(1, '[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]');
INSERT INTO order_items (order_id, product_id, quantity) VALUES (1, 3, 4);
UPDATE order_items SET quantity = 3 WHERE order_id = 1 AND product_id = 1;
UPDATE order_items SET unit_price = 4.00 WHERE order_id = 1 AND product_id = 2;
DELETE FROM order_items WHERE order_id = 1 AND product_id = 3;
UPDATE orders SET status = 'paid' WHERE id = 1;
UPDATE orders SET status = 'shipped' WHERE id = 1;
UPDATE orders SET status = 'delivered' WHERE id = 1;

SELECT place_order(2, '[{"product_id": 3, "quantity": 1}]');
UPDATE orders SET status = 'cancelled' WHERE id = 2;
DELETE FROM orders WHERE id = 2;

-- An order written row by row in one transaction is still one OrderPlaced.
BEGIN;
INSERT INTO orders (user_id) VALUES (2) RETURNING id AS row_by_row \gset
INSERT INTO order_items (order_id, product_id, quantity) VALUES (:row_by_row, 2, 1), (:row_by_row, 1, 1);
COMMIT;

INSERT INTO products (name, price) VALUES ('Temp', 1);
DELETE FROM products WHERE id = 4;
INSERT INTO users (name, email) VALUES ('Eve', 'eve@example.com');
DELETE FROM users WHERE id = 3;

SELECT * FROM changes();

-- Every message of a transaction carries the transaction's xid and its commit LSN (the end
-- of the commit record: what the SQL interface reports for the commit message).
INSERT INTO users (name, email) VALUES ('Fay', 'fay@example.com');
WITH c AS (SELECT lsn, xid, data::json AS m FROM pg_logical_slot_get_changes('regress', NULL, NULL))
SELECT m->>'type' AS type,
       (m->>'xid')::xid = xid AS xid_matches,
       (m->>'lsn')::pg_lsn = (SELECT lsn FROM c WHERE m->>'type' = 'commit') AS lsn_is_commit_end,
       m->>'commit_time' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS commit_time_format,
       m->>'created_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS created_at_format
  FROM c;

-- Once the commit LSN is confirmed, the transaction is never sent again.
INSERT INTO users (name, email) VALUES ('Gus', 'gus@example.com');
SELECT (data::json->>'lsn')::pg_lsn AS commit_lsn
  FROM pg_logical_slot_peek_changes('regress', NULL, NULL) WHERE data::json->>'type' = 'commit' \gset
SELECT count(*) AS before_confirm FROM pg_logical_slot_peek_changes('regress', NULL, NULL);
SELECT 'confirmed' FROM pg_replication_slot_advance('regress', :'commit_lsn');
SELECT count(*) AS after_confirm FROM pg_logical_slot_peek_changes('regress', NULL, NULL);

SELECT 'dropped' FROM pg_drop_replication_slot('regress');
