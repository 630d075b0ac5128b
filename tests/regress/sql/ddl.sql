-- The plugin follows DDL: an added column, a dropped and recreated extension, another schema.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

ALTER TABLE users ADD COLUMN nickname text;
INSERT INTO users (nickname, name, email) VALUES ('al', 'Alan', 'alan@example.com');
ALTER TABLE users DROP COLUMN nickname;
UPDATE users SET name = 'Alan T' WHERE email = 'alan@example.com';
SELECT * FROM changes();

-- DROP EXTENSION drops the write model with its rows; CREATE EXTENSION starts it afresh, and
-- the same slot follows the new tables.
DROP EXTENSION pgcqrs;
SELECT count(*) AS tables_left FROM pg_class WHERE relname IN ('users', 'products', 'orders', 'order_items');
CREATE EXTENSION pgcqrs;
INSERT INTO users (name, email) VALUES ('Reborn', 'reborn@example.com');
SELECT * FROM changes();

-- Tables of the same names outside the extension are not the write model.
CREATE SCHEMA elsewhere;
CREATE TABLE elsewhere.users (id bigint, name text, email text);
INSERT INTO elsewhere.users VALUES (1, 'Not', 'ours');
SELECT * FROM changes();
DROP SCHEMA elsewhere CASCADE;

-- CREATE EXTENSION ... SCHEMA puts the write model where it is asked to.
DROP EXTENSION pgcqrs;
CREATE SCHEMA shop;
CREATE EXTENSION pgcqrs SCHEMA shop;
INSERT INTO shop.users (name, email) VALUES ('Shopper', 'shopper@example.com');
INSERT INTO shop.products (name, price) VALUES ('Shelf', 3.25);
SET search_path = pg_catalog;
SELECT shop.place_order(1, '[{"product_id": 1, "quantity": 2}]');
RESET search_path;
SELECT * FROM changes();
DROP EXTENSION pgcqrs;
DROP SCHEMA shop;
CREATE EXTENSION pgcqrs;

SELECT 'dropped' FROM pg_drop_replication_slot('regress');
