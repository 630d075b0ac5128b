-- A role that may create objects in the schema CREATE EXTENSION installs into plants
-- look-alikes of what the extension's SQL names, then a superuser creates the extension there
-- and a writer with that schema on its search path uses all of it. Each look-alike records its
-- call; none may be called. (Casts cannot be planted: CREATE CAST needs to own one of the
-- types, and every type the extension uses is pg_catalog's.)
DROP EXTENSION pgcqrs;
CREATE ROLE regress_planter;
CREATE ROLE regress_writer;
CREATE SCHEMA shop AUTHORIZATION regress_planter;
GRANT USAGE ON SCHEMA shop TO regress_writer;

SET ROLE regress_planter;
CREATE TABLE shop.planted_calls (called text);
-- Each look-alike records its call (as the planter, whoever calls it) and answers plausibly.
CREATE FUNCTION shop.record(what text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  INSERT INTO shop.planted_calls VALUES (what) RETURNING true
$$;
GRANT EXECUTE ON FUNCTION shop.record(text) TO PUBLIC;
-- Operators: the exact argument types each use in the extension has, where pg_catalog has no
-- exact match (numeric >= integer in the CHECKs of main) and where it has (the rest).
CREATE FUNCTION shop.numeric_ge_int(numeric, integer) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('>=(numeric, integer)') $$;
CREATE OPERATOR shop.>= (FUNCTION = shop.numeric_ge_int, LEFTARG = numeric, RIGHTARG = integer);
CREATE FUNCTION shop.numeric_ge(numeric, numeric) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('>=(numeric, numeric)') $$;
CREATE OPERATOR shop.>= (FUNCTION = shop.numeric_ge, LEFTARG = numeric, RIGHTARG = numeric);
CREATE FUNCTION shop.numeric_ne(numeric, numeric) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('<>(numeric, numeric)') $$;
CREATE OPERATOR shop.<> (FUNCTION = shop.numeric_ne, LEFTARG = numeric, RIGHTARG = numeric);
CREATE FUNCTION shop.int_gt(integer, integer) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('>(integer, integer)') $$;
CREATE OPERATOR shop.> (FUNCTION = shop.int_gt, LEFTARG = integer, RIGHTARG = integer);
CREATE FUNCTION shop.text_eq(text, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('=(text, text)') $$;
CREATE OPERATOR shop.= (FUNCTION = shop.text_eq, LEFTARG = text, RIGHTARG = text);
CREATE FUNCTION shop.text_ne(text, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('<>(text, text)') $$;
CREATE OPERATOR shop.<> (FUNCTION = shop.text_ne, LEFTARG = text, RIGHTARG = text);
CREATE FUNCTION shop.text_match(text, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT shop.record('~(text, text)') $$;
CREATE OPERATOR shop.~ (FUNCTION = shop.text_match, LEFTARG = text, RIGHTARG = text);
CREATE FUNCTION shop.jsonb_field(jsonb, text) RETURNS text LANGUAGE sql
  AS $$ SELECT shop.record('->>(jsonb, text)')::text $$;
CREATE OPERATOR shop.->> (FUNCTION = shop.jsonb_field, LEFTARG = jsonb, RIGHTARG = text);
-- Functions the extension calls, with their exact signatures.
CREATE FUNCTION shop.now() RETURNS timestamptz LANGUAGE sql
  AS $$ SELECT shop.record('now()'); SELECT timestamptz '2000-01-01' $$;
CREATE FUNCTION shop.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql
  AS $$ SELECT shop.record('jsonb_typeof(jsonb)'); SELECT 'array' $$;
CREATE FUNCTION shop.jsonb_array_length(jsonb) RETURNS integer LANGUAGE sql
  AS $$ SELECT shop.record('jsonb_array_length(jsonb)'); SELECT 1 $$;
CREATE FUNCTION shop.length(text) RETURNS integer LANGUAGE sql
  AS $$ SELECT shop.record('length(text)'); SELECT 1 $$;
CREATE FUNCTION shop.left(text, integer) RETURNS text LANGUAGE sql
  AS $$ SELECT shop.record('left(text, integer)'); SELECT '' $$;
CREATE FUNCTION shop.format_type(oid, integer) RETURNS text LANGUAGE sql
  AS $$ SELECT shop.record('format_type(oid, integer)'); SELECT 'bigint' $$;
CREATE FUNCTION shop.pg_current_wal_insert_lsn() RETURNS pg_lsn LANGUAGE sql
  AS $$ SELECT shop.record('pg_current_wal_insert_lsn()'); SELECT '0/0'::pg_lsn $$;
CREATE FUNCTION shop.pg_event_trigger_ddl_commands() RETURNS SETOF record LANGUAGE sql
  AS $$ SELECT shop.record('pg_event_trigger_ddl_commands()') $$;
RESET ROLE;

-- The superuser installs into that schema, with the usual search_path.
SET search_path = shop, public;
CREATE EXTENSION pgcqrs SCHEMA shop;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.users, shop.products, shop.orders, shop.order_items
  TO regress_writer;

-- The writer uses every rule, the command handler and the token.
SET ROLE regress_writer;
SET search_path = shop;
INSERT INTO users (id, name, email) VALUES (1, 'Ada', 'ada@example.com');
INSERT INTO products (id, name, price) VALUES (1, 'Widget', 9.99), (2, 'Gadget', 5.00);
SELECT place_order(1, '[{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]') AS order_id;
SELECT public.try($$SELECT place_order(1, '[{"product_id": "1", "quantity": 1}]')$$);
SELECT public.try($$SELECT place_order(1, '[{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 1}]')$$);
SELECT public.try($$INSERT INTO products (name, price) VALUES ('Debt', -1)$$);
SELECT public.try($$INSERT INTO products (name, price) VALUES ('Nothing', 'NaN')$$);
SELECT public.try($$INSERT INTO order_items (order_id, product_id, quantity) VALUES (1, 2, 0)$$);
SELECT public.try($$INSERT INTO orders (user_id, status) VALUES (1, 'lost')$$);
UPDATE products SET price = 10.49 WHERE id = 1;
UPDATE users SET name = 'Ada L' WHERE id = 1;
UPDATE order_items SET quantity = 3, unit_price = 8.00 WHERE order_id = 1 AND product_id = 1;
UPDATE orders SET status = 'paid' WHERE id = 1;
SELECT public.try($$UPDATE orders SET status = 'pending' WHERE id = 1$$);
SELECT write_token() > '0/0' AS token;
RESET ROLE;

-- The superuser's DDL on the model runs the guard.
SELECT public.try('ALTER TABLE users RENAME COLUMN email TO mail');
ALTER TABLE users ADD COLUMN note text;
RESET search_path;

SELECT count(*) AS planted_calls FROM shop.planted_calls;
SELECT called, count(*) FROM shop.planted_calls GROUP BY 1 ORDER BY 1;

DROP EXTENSION pgcqrs;
DROP SCHEMA shop CASCADE;
DROP ROLE regress_planter;
DROP ROLE regress_writer;
CREATE EXTENSION pgcqrs;
