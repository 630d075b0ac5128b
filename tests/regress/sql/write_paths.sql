-- Write paths other than INSERT/UPDATE/DELETE one row at a time: the plugin sees row changes,
-- whatever statement made them. Explicit ids keep the output independent of earlier tests.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

-- INSERT ... ON CONFLICT: a new row is UserRegistered, a conflicting one an update (here a
-- rename); DO NOTHING on a conflict emits nothing.
INSERT INTO users (id, name, email) VALUES (900, 'Upsert', 'upsert@example.com')
  ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name;
INSERT INTO users (id, name, email) VALUES (901, 'Upsert Again', 'upsert@example.com')
  ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name;
INSERT INTO users (id, name, email) VALUES (902, 'Ignored', 'upsert@example.com')
  ON CONFLICT (email) DO NOTHING;

-- COPY FROM: one event per row.
COPY products (id, name, price) FROM STDIN;
900	Copied One	1.50
901	Copied Two	2.25
\.

-- MERGE (PostgreSQL 15): an order and its items, then a reprice and an insert in one MERGE.
INSERT INTO orders (id, user_id, created_at) VALUES (900, 900, '2026-01-02 03:04:05+00');
MERGE INTO order_items t
USING (VALUES (900, 900, 2), (900, 901, 1)) AS s(order_id, product_id, quantity)
   ON t.order_id = s.order_id AND t.product_id = s.product_id
 WHEN MATCHED THEN UPDATE SET quantity = s.quantity
 WHEN NOT MATCHED THEN INSERT (order_id, product_id, quantity) VALUES (s.order_id, s.product_id, s.quantity);
MERGE INTO products t
USING (VALUES (900, 1.75), (902, 3.00)) AS s(id, price) ON t.id = s.id
 WHEN MATCHED THEN UPDATE SET price = s.price
 WHEN NOT MATCHED THEN INSERT (id, name, price) VALUES (s.id, 'Merged', s.price);

-- UPDATE ... FROM and DELETE ... USING; deleting an order cascades to its items.
UPDATE order_items i SET quantity = 5 FROM products p
 WHERE p.id = i.product_id AND p.name = 'Copied Two' AND i.order_id = 900;
DELETE FROM orders o USING users u WHERE u.id = o.user_id AND u.email = 'upsert@example.com';

SELECT * FROM changes();
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
