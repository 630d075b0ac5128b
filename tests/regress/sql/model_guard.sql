-- DDL that would make the events lie is refused (CQ007) and rolled back; columns added beside
-- the model stay free, and the events stay true afterwards.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');
INSERT INTO users (id, name, email) VALUES (500, 'Gus', 'gus@example.com');
INSERT INTO products (id, name, price) VALUES (500, 'Lamp', 20.00);
INSERT INTO orders (id, user_id) VALUES (500, 500);
INSERT INTO order_items (order_id, product_id, quantity) VALUES (500, 500, 3);

-- Old values come from the full old row: without it a rename would report a null old email
-- and a reactivation, and under NOTHING a delete nothing at all.
SELECT try('ALTER TABLE users REPLICA IDENTITY DEFAULT');
SELECT try('ALTER TABLE users REPLICA IDENTITY NOTHING');
SELECT try('ALTER TABLE orders REPLICA IDENTITY USING INDEX orders_pkey');
-- The plugin knows the tables and columns by name: a rename would drop their events.
SELECT try('ALTER TABLE products RENAME TO catalog');
SELECT try('ALTER INDEX products RENAME TO catalog');
CREATE SCHEMA elsewhere;
SELECT try('ALTER TABLE products SET SCHEMA elsewhere');
SELECT try('ALTER TABLE users RENAME COLUMN email TO mail');
SELECT try('ALTER TABLE users DROP COLUMN is_active');
SELECT try('ALTER TABLE order_items DROP COLUMN unit_price CASCADE');
-- A retyped column would arrive as text ("quantity":"3") and break the totals.
SELECT try('ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint');
SELECT try('ALTER TABLE products ALTER COLUMN price TYPE numeric(14,2)');
SELECT try('ALTER TABLE users ALTER COLUMN name TYPE varchar(200)');
-- Membership is how the plugin finds the tables.
SELECT try('ALTER EXTENSION pgcqrs DROP TABLE orders');
CREATE TABLE elsewhere.users (id bigint, name text, email text);
SELECT try('ALTER EXTENSION pgcqrs ADD TABLE elsewhere.users');
-- Rows no event reports: a child table's, or an unlogged table's.
SELECT try('CREATE TABLE elsewhere.vip_users () INHERITS (users)');
CREATE TABLE elsewhere.old_users (LIKE users);
SELECT try('ALTER TABLE elsewhere.old_users INHERIT users');
BEGIN;
ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey,
                        DROP CONSTRAINT order_items_product_id_fkey;
SELECT try('ALTER TABLE order_items SET UNLOGGED');
ROLLBACK;
DROP SCHEMA elsewhere CASCADE;

-- Nothing of it happened.
SELECT c.relname, c.relreplident, c.relpersistence,
       string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS columns
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcqrs') AND c.relkind = 'r'
 GROUP BY 1, 2, 3 ORDER BY 1;

-- Columns beside the model, and changes that leave the model's columns as they are, are free.
ALTER TABLE users ADD COLUMN nickname text;
ALTER TABLE users RENAME COLUMN nickname TO handle;
ALTER TABLE users ALTER COLUMN handle TYPE varchar(40);
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2);
COMMENT ON TABLE orders IS 'orders of the shop';
UPDATE users SET handle = 'gus', email = 'gus@example.org' WHERE id = 500;
ALTER TABLE users DROP COLUMN handle;

-- The events are the true ones.
UPDATE users SET is_active = false WHERE id = 500;
UPDATE order_items SET quantity = 4 WHERE order_id = 500;
DELETE FROM orders WHERE id = 500;
DELETE FROM users WHERE id = 500;
DELETE FROM products WHERE id = 500;
SELECT * FROM changes();
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
