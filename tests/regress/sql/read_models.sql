-- Declarative read models: views over the user's own tables, analysed, registered, explained
-- and guarded against DDL; every refusal with its message and hint.

-- What the analysis says of a view: 'accepted', or the error's state, message and hint.
CREATE FUNCTION refusal(view regclass, key text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  state text;
  msg text;
  hint text;
BEGIN
  PERFORM read_model_plan(view, 'model', key);
  RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN state || ': ' || msg || coalesce(E'\nHINT:  ' || nullif(hint, ''), '');
END $$;

-- The stream of the tables registered models read (docs/events.md, "Row events").
SELECT 'init' FROM pg_create_logical_replication_slot('models', 'pgcqrs');

-- The user's own schema.
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text UNIQUE, tier text,
                        vip boolean NOT NULL DEFAULT false, code text UNIQUE DEFERRABLE);
CREATE TABLE regions (code text PRIMARY KEY, label text);
CREATE TABLE tickets (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,
                      customer_email text, region text, status text NOT NULL, priority int NOT NULL,
                      amount numeric, opened_at timestamptz, title varchar(80), urgent boolean);

-- A root, two lookups (on a primary key, on a unique column), filters of every kind.
CREATE VIEW ticket_cards AS
  SELECT t.id, t.status, t.priority, t.title, c.name AS customer, r.label AS region
    FROM tickets t
    LEFT JOIN customers c ON c.id = t.customer_id
    JOIN regions r ON t.region = r.code
   WHERE t.status <> 'closed' AND t.priority IN (1, 2, 3) AND t.opened_at IS NOT NULL
     AND NOT t.urgent AND t.title = 'x' AND t.status NOT IN ('spam');
SELECT * FROM explain_read_model('ticket_cards');
SELECT jsonb_pretty(read_model_plan('ticket_cards', 'ticket_cards', NULL));

-- Matched on a unique key other than the primary key, a lookup needs its old values.
CREATE VIEW tickets_by_email AS
  SELECT t.id AS ticket, c.name, c.vip FROM tickets t JOIN customers c ON c.email = t.customer_email
   WHERE t.urgent;
SELECT * FROM explain_read_model('tickets_by_email', 'by_email', 'ticket:{ticket}');
ALTER TABLE customers REPLICA IDENTITY FULL;
SELECT * FROM explain_read_model('tickets_by_email', 'by_email', 'ticket:{ticket}');
CREATE TABLE ticket_notes (id bigint PRIMARY KEY REFERENCES tickets, note text);
CREATE VIEW tickets_using AS SELECT id, status, note FROM tickets JOIN ticket_notes USING (id);
SELECT * FROM explain_read_model('tickets_using');
CREATE VIEW ticket_regions AS SELECT t.id, r.code, r.label FROM tickets t JOIN regions r ON r.code = t.region;
SELECT * FROM explain_read_model('ticket_regions');

-- Refusals: the query's shape.
CREATE VIEW v_expression AS SELECT id, priority + 1 AS next_priority FROM tickets;
CREATE VIEW v_system AS SELECT id, ctid FROM tickets;
CREATE VIEW v_whole_row AS SELECT t.id, t AS everything FROM tickets t;
CREATE VIEW v_group AS SELECT customer_id, count(*) FROM tickets GROUP BY customer_id;
CREATE VIEW v_subquery AS SELECT t.id, (SELECT count(*) FROM tickets x WHERE x.customer_id = t.customer_id) FROM tickets t;
CREATE VIEW v_with AS WITH x AS (SELECT id FROM tickets) SELECT id FROM x;
CREATE VIEW v_union AS SELECT id FROM tickets UNION SELECT id FROM customers;
CREATE VIEW v_window AS SELECT id, row_number() OVER () FROM tickets;
CREATE VIEW v_srf AS SELECT id, generate_series(1, 2) AS n FROM tickets;
CREATE VIEW v_distinct AS SELECT DISTINCT id, status FROM tickets;
CREATE VIEW v_order AS SELECT id FROM tickets ORDER BY id;
CREATE VIEW v_limit AS SELECT id FROM tickets LIMIT 5;
CREATE VIEW v_lock AS SELECT id FROM tickets FOR UPDATE;
CREATE VIEW v_comma AS SELECT t.id FROM tickets t, customers c WHERE c.id = t.customer_id;
CREATE VIEW v_no_from AS SELECT 1 AS id;
SELECT v AS view, refusal(v)
  FROM unnest(ARRAY['v_expression', 'v_system', 'v_whole_row', 'v_group', 'v_subquery', 'v_with',
                    'v_union', 'v_window', 'v_srf', 'v_distinct', 'v_order', 'v_limit', 'v_lock',
                    'v_comma', 'v_no_from']::regclass[]) v;

-- Refusals: FROM and its joins.
CREATE TABLE archive (id bigint PRIMARY KEY);
CREATE TABLE archive_2025 () INHERITS (archive);
CREATE TABLE events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE UNLOGGED TABLE scratch (id bigint PRIMARY KEY);
CREATE TABLE silent (id bigint PRIMARY KEY);
ALTER TABLE silent REPLICA IDENTITY NOTHING;
CREATE TABLE keyless (id bigint);
CREATE TABLE keyless_full (id bigint);
ALTER TABLE keyless_full REPLICA IDENTITY FULL;
CREATE MATERIALIZED VIEW ticket_counts AS SELECT count(*) AS n FROM tickets;
CREATE VIEW v_right AS SELECT t.id FROM tickets t RIGHT JOIN customers c ON c.id = t.customer_id;
CREATE VIEW v_full AS SELECT t.id FROM tickets t FULL JOIN customers c ON c.id = t.customer_id;
CREATE VIEW v_natural AS SELECT t.id FROM tickets t NATURAL JOIN regions r;
CREATE VIEW v_nested AS SELECT t.id FROM tickets t JOIN (customers c JOIN regions r ON r.code = c.tier) ON c.id = t.customer_id;
CREATE VIEW v_not_unique AS SELECT t.id FROM tickets t JOIN customers c ON c.name = t.customer_email;
CREATE VIEW v_deferrable AS SELECT t.id FROM tickets t JOIN customers c ON c.code = t.customer_email;
CREATE VIEW v_types AS SELECT t.id FROM tickets t JOIN customers c ON c.id = t.priority;
CREATE VIEW v_operator AS SELECT t.id FROM tickets t JOIN customers c ON c.id > t.customer_id;
CREATE VIEW v_join_filter AS SELECT t.id FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id AND c.vip;
CREATE VIEW v_two_tables AS SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id
  JOIN regions r ON r.code = c.tier AND r.code = t.region;
CREATE VIEW v_backwards AS SELECT t.id FROM tickets t JOIN customers c ON t.id = t.customer_id;
CREATE VIEW v_subquery_from AS SELECT id FROM (SELECT id FROM tickets) t;
CREATE VIEW v_function_from AS SELECT g AS id FROM generate_series(1, 3) g;
CREATE VIEW v_values_from AS SELECT id FROM (VALUES (1)) v (id);
CREATE VIEW v_view_from AS SELECT id FROM ticket_cards;
CREATE VIEW v_matview_from AS SELECT n FROM ticket_counts;
CREATE VIEW v_inherited AS SELECT id FROM archive;
CREATE VIEW v_partitioned AS SELECT id, at FROM events;
CREATE VIEW v_unlogged AS SELECT id FROM scratch;
CREATE VIEW v_identity AS SELECT id FROM silent;
CREATE VIEW v_keyless AS SELECT id FROM keyless;
CREATE VIEW v_keyless_full AS SELECT id FROM keyless_full;
CREATE VIEW v_sample AS SELECT id FROM tickets TABLESAMPLE SYSTEM (10);
CREATE VIEW v_catalog AS SELECT name, version FROM read_models;
CREATE VIEW v_progress AS SELECT slot, lsn FROM read_model_progress;
SELECT v AS view, refusal(v)
  FROM unnest(ARRAY['v_right', 'v_full', 'v_natural', 'v_nested', 'v_not_unique', 'v_deferrable',
                    'v_types', 'v_operator', 'v_join_filter', 'v_two_tables', 'v_backwards',
                    'v_subquery_from', 'v_function_from', 'v_values_from', 'v_view_from',
                    'v_matview_from', 'v_inherited', 'v_partitioned', 'v_unlogged', 'v_identity',
                    'v_keyless', 'v_keyless_full', 'v_sample', 'v_catalog', 'v_progress']::regclass[]) v;
DROP VIEW v_catalog, v_progress;  -- they would hold the extension

-- The write model's tables are tables like any other (their rows stream beside their events).
CREATE VIEW order_cards AS
  SELECT o.id, o.status, u.name AS customer,
         (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) AS lines
    FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status <> 'cancelled';
SELECT * FROM explain_read_model('order_cards');
DROP VIEW order_cards;

-- Refusals: WHERE.
CREATE VIEW v_or AS SELECT id FROM tickets WHERE status = 'open' OR status = 'new';
CREATE VIEW v_lookup_filter AS SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE c.vip;
CREATE VIEW v_numeric AS SELECT id FROM tickets WHERE amount = 5;
CREATE VIEW v_timestamp AS SELECT id FROM tickets WHERE opened_at > now();
CREATE VIEW v_range AS SELECT id FROM tickets WHERE priority > 2;
CREATE VIEW v_null AS SELECT id FROM tickets WHERE status = NULL;
CREATE VIEW v_cast AS SELECT id FROM tickets WHERE priority = 2::bigint;
CREATE VIEW v_column_column AS SELECT id FROM tickets WHERE id = priority;
CREATE VIEW v_in_column AS SELECT id FROM tickets WHERE priority IN (1, id);
CREATE VIEW v_expression_filter AS SELECT id FROM tickets WHERE lower(status) = 'open';
CREATE VIEW v_like AS SELECT id FROM tickets WHERE status LIKE 'o%';
SELECT v AS view, refusal(v)
  FROM unnest(ARRAY['v_or', 'v_lookup_filter', 'v_numeric', 'v_timestamp', 'v_range', 'v_null',
                    'v_cast', 'v_column_column', 'v_in_column', 'v_expression_filter',
                    'v_like']::regclass[]) v;

-- Refusals: the key template.
CREATE VIEW v_no_key AS SELECT status FROM tickets;
SELECT k AS key, refusal('ticket_cards', k)
  FROM unnest(ARRAY['', 'ticket', 'ticket:{nope}', 'ticket:{status}', 'ticket:{id}:{id}', 'ticket:{id',
                    'ticket:id}', 'region:{region}', 'user:{id}', 'order_details:{id}', 'pgcqrs:m:{id}',
                    'top_products{id}', 'g12:ticket:{id}']) k;
SELECT refusal('ticket_cards', 'g:{id}') = 'accepted' AS g_alone_is_a_name,
       refusal('ticket_cards', 'users:{id}') = 'accepted' AS users_is_not_user;
SELECT refusal('v_no_key');
SELECT refusal('tickets');

-- Grouped models: a hash per group of the root's rows, with counts and exact sums.
CREATE TABLE visits (id bigint PRIMARY KEY, customer_id bigint NOT NULL, kind text NOT NULL, region text,
                     minutes int, cost numeric(10,2), price numeric, score float8, at timestamptz,
                     huge numeric(30,2));
CREATE VIEW visit_totals AS
  SELECT customer_id, kind, count(*) AS visits, count(minutes) AS timed, sum(minutes) AS minutes,
         sum(cost) AS cost
    FROM visits WHERE kind <> 'test' GROUP BY customer_id, kind;
SELECT * FROM explain_read_model('visit_totals');
SELECT jsonb_pretty(read_model_plan('visit_totals', 'visit_totals', NULL));
CREATE VIEW v_region_counts AS SELECT region, count(*) AS n FROM visits WHERE region IS NOT NULL GROUP BY region;
SELECT refusal('v_region_counts');
-- Ranked: sorted sets scored by a numeric column, or a count or a sum.
SELECT * FROM explain_read_model('visit_totals', rank => 'cost');
SELECT r AS rank, try(format('SELECT read_model_plan(%L, %L, NULL, %L)', 'visit_totals', 'm', r))
  FROM unnest(ARRAY['visits', 'customer_id', 'kind', 'nope']) r;
SELECT name, key, rank, plan -> 'group' AS grouped_by, plan ->> 'rank' AS ranked_by
  FROM register_read_model('visit_totals', 'visit_totals', rank => 'visits');
INSERT INTO visits VALUES (1, 7, 'call', 'eu', 5, 1.50, 2, 0.5, now());
UPDATE visits SET cost = 2.25, price = 3 WHERE id = 1;
SELECT * FROM changes('models');
SELECT drop_read_model('visit_totals');
SELECT * FROM changes('models');
CREATE VIEW v_g_nullable AS SELECT region, count(*) AS n FROM visits GROUP BY region;
CREATE VIEW v_g_avg AS SELECT kind, avg(minutes) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_min AS SELECT kind, min(minutes) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_other AS SELECT kind, bool_and(minutes > 1) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_distinct AS SELECT kind, count(DISTINCT minutes) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_filter AS SELECT kind, count(*) FILTER (WHERE minutes > 1) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_ordered AS SELECT kind, percentile_disc(0.5) WITHIN GROUP (ORDER BY minutes) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_float AS SELECT kind, sum(score) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_numeric AS SELECT kind, sum(price) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_huge AS SELECT kind, sum(huge) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_sum_expression AS SELECT kind, sum(minutes * 2) AS m FROM visits GROUP BY kind;
CREATE VIEW v_g_group_expression AS SELECT lower(kind) AS k, count(*) AS n FROM visits GROUP BY lower(kind);
CREATE VIEW v_g_unselected AS SELECT count(*) AS n FROM visits GROUP BY kind;
CREATE VIEW v_g_ungrouped AS SELECT id, kind, count(*) AS n FROM visits GROUP BY id;
CREATE VIEW v_g_join AS SELECT v.kind, count(*) AS n FROM visits v JOIN customers c ON c.id = v.customer_id GROUP BY v.kind;
CREATE VIEW v_g_having AS SELECT kind, count(*) AS n FROM visits GROUP BY kind HAVING count(*) > 1;
CREATE VIEW v_g_rollup AS SELECT kind, count(*) AS n FROM visits GROUP BY ROLLUP (kind);
CREATE VIEW v_g_whole AS SELECT count(*) AS n FROM visits;
CREATE VIEW v_g_timestamp AS SELECT at, count(*) AS n FROM visits WHERE at IS NOT NULL GROUP BY at;
SELECT v AS view, refusal(v)
  FROM unnest(ARRAY['v_g_nullable', 'v_g_avg', 'v_g_min', 'v_g_other', 'v_g_distinct', 'v_g_filter',
                    'v_g_ordered', 'v_g_float', 'v_g_numeric', 'v_g_huge', 'v_g_sum_expression', 'v_g_group_expression',
                    'v_g_unselected', 'v_g_ungrouped', 'v_g_join', 'v_g_having', 'v_g_rollup', 'v_g_whole',
                    'v_g_timestamp']::regclass[]) v;
SELECT k AS key, refusal('visit_totals', k)
  FROM unnest(ARRAY['visits:{customer_id}', 'visits:{customer_id}:{kind}:{visits}']) k;
DROP VIEW visit_totals, v_region_counts, v_g_nullable, v_g_avg, v_g_min, v_g_other, v_g_distinct, v_g_filter,
  v_g_ordered, v_g_float, v_g_numeric, v_g_huge, v_g_sum_expression, v_g_group_expression, v_g_unselected, v_g_ungrouped,
  v_g_join, v_g_having, v_g_rollup, v_g_whole, v_g_timestamp;
DROP TABLE visits;

-- Nested child rows: per root row, its child rows as an ordered JSON array, counted, summed.
CREATE TABLE notes (id bigint PRIMARY KEY, ticket_id bigint NOT NULL, pos int NOT NULL, body text, done boolean,
                    cost numeric(8,2), place int, at timestamptz);
CREATE TABLE keyless_notes (ticket_id bigint, body text);
CREATE VIEW ticket_threads AS
  SELECT t.id, t.status,
         coalesce((SELECT jsonb_agg(jsonb_build_object('pos', n.pos, 'body', n.body, 'done', n.done, 'cost', n.cost)
                                    ORDER BY n.pos DESC, n.id)
                     FROM notes n WHERE n.ticket_id = t.id), '[]') AS notes,
         (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id) AS note_count,
         (SELECT sum(n.cost) FROM notes n WHERE n.ticket_id = t.id) AS cost
    FROM tickets t;
SELECT * FROM explain_read_model('ticket_threads');
SELECT jsonb_pretty(read_model_plan('ticket_threads', 'ticket_threads', NULL) #> '{tables,1}') AS nested_table,
       jsonb_pretty(read_model_plan('ticket_threads', 'ticket_threads', NULL) #> '{columns,2}') AS nested_array;
-- Child rows filtered on their own columns: every column that nests a table, with the same filter.
CREATE VIEW ticket_todo AS
  SELECT t.id,
         (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done AND n.body IS NOT NULL) AS open_notes,
         coalesce((SELECT jsonb_agg(jsonb_build_object('pos', n.pos) ORDER BY n.pos, n.id) FROM notes n
                    WHERE n.ticket_id = t.id AND NOT n.done AND n.body IS NOT NULL), '[]') AS open_positions,
         (SELECT max(n.cost) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done AND n.body IS NOT NULL) AS top_cost,
         (SELECT min(n.pos) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done AND n.body IS NOT NULL) AS first_pos
    FROM tickets t;
SELECT * FROM explain_read_model('ticket_todo');
SELECT jsonb_pretty(read_model_plan('ticket_todo', 'ticket_todo', NULL) -> 'filters') AS filters;
DROP VIEW ticket_todo;
CREATE VIEW v_n_filter AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND n.done) AS a,
         (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND NOT n.done) AS b FROM tickets t;
CREATE VIEW v_n_filter_or AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND (n.done OR n.pos = 1)) AS n FROM tickets t;
CREATE VIEW v_n_filter_range AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND n.pos > 1) AS n FROM tickets t;
CREATE VIEW v_n_filter_outer AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND t.status = 'open') AS n FROM tickets t;
CREATE VIEW v_n_min_text AS SELECT t.id, (SELECT min(n.body) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_max_time AS SELECT t.id, (SELECT max(n.at) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_max_expression AS
  SELECT t.id, (SELECT max(n.pos + 1) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_filter_numeric AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id AND n.cost = 1.50) AS n FROM tickets t;
CREATE VIEW v_n_not_key AS SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.customer_id) AS n FROM tickets t;
CREATE VIEW v_n_unordered AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('pos', n.pos)) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_ties AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('pos', n.pos) ORDER BY n.pos) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_text_order AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('pos', n.pos) ORDER BY n.body, n.id) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_nullable_order AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('pos', n.pos) ORDER BY n.place, n.id) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_timestamp AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('at', n.at) ORDER BY n.id) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_expression AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('p', n.pos + 1) ORDER BY n.id) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_twice AS
  SELECT t.id, (SELECT jsonb_agg(jsonb_build_object('p', n.pos, 'p', n.id) ORDER BY n.id) FROM notes n WHERE n.ticket_id = t.id) AS n
    FROM tickets t;
CREATE VIEW v_n_json_agg AS
  SELECT t.id, (SELECT json_agg(n.pos ORDER BY n.id) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_count_column AS SELECT t.id, (SELECT count(n.body) FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_exists AS SELECT t.id, EXISTS (SELECT FROM notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_coalesce AS
  SELECT t.id, coalesce((SELECT sum(n.cost) FROM notes n WHERE n.ticket_id = t.id), 0) AS n FROM tickets t;
CREATE VIEW v_n_keyless AS
  SELECT t.id, (SELECT count(*) FROM keyless_notes n WHERE n.ticket_id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_self AS SELECT t.id, (SELECT count(*) FROM tickets x WHERE x.id = t.id) AS n FROM tickets t;
CREATE VIEW v_n_two_keys AS
  SELECT t.id, (SELECT count(*) FROM notes n WHERE n.ticket_id = t.id) AS a,
         (SELECT count(*) FROM notes n WHERE n.id = t.id) AS b FROM tickets t;
SELECT v AS view, refusal(v)
  FROM unnest(ARRAY['v_n_filter', 'v_n_not_key', 'v_n_unordered', 'v_n_ties', 'v_n_text_order', 'v_n_nullable_order',
                    'v_n_timestamp', 'v_n_expression', 'v_n_twice', 'v_n_json_agg', 'v_n_count_column', 'v_n_exists',
                    'v_n_coalesce', 'v_n_keyless', 'v_n_self', 'v_n_two_keys', 'v_n_filter_or', 'v_n_filter_range',
                    'v_n_filter_outer', 'v_n_filter_numeric', 'v_n_min_text', 'v_n_max_time',
                    'v_n_max_expression']::regclass[]) v;
DROP VIEW v_n_filter, v_n_not_key, v_n_unordered, v_n_ties, v_n_text_order, v_n_nullable_order, v_n_timestamp,
  v_n_expression, v_n_twice, v_n_json_agg, v_n_count_column, v_n_exists, v_n_coalesce, v_n_keyless, v_n_self,
  v_n_two_keys, v_n_filter_or, v_n_filter_range, v_n_filter_outer, v_n_filter_numeric, v_n_min_text, v_n_max_time,
  v_n_max_expression;

-- Rows written before a model is registered reach no one.
INSERT INTO customers (id, name, email, tier, vip) VALUES (1, 'Ada', 'ada@example.com', 'gold', true);
INSERT INTO regions VALUES ('eu', 'Europe');
INSERT INTO tickets (id, customer_id, customer_email, region, status, priority, amount, title, urgent)
  VALUES (1, 1, 'ada@example.com', 'eu', 'open', 1, 9.50, 'x', false);

-- Registering: the plan is the analysis's, whatever the INSERT says.
SELECT name, view, key FROM register_read_model('ticket_cards', 'ticket_cards');
INSERT INTO read_models (name, view, key, plan) VALUES ('by_email', 'tickets_by_email', 'ticket:{ticket}', '{}');
SELECT name, view, key, plan -> 'tables' -> 1 ->> 'key_index' AS lookup_key FROM read_models ORDER BY name;
-- From the registering commit on, the columns the models read, and only those.
INSERT INTO tickets (id, customer_id, customer_email, region, status, priority, amount, title, urgent)
  VALUES (2, 1, 'ada@example.com', 'eu', 'new', 2, 1.25, repeat('t', 3), true);
UPDATE tickets SET amount = 2 WHERE id = 2;
UPDATE tickets SET status = 'closed', title = NULL WHERE id = 2;
UPDATE tickets SET id = 3 WHERE id = 2;
UPDATE customers SET name = 'Ada L', tier = 'platinum' WHERE id = 1;
INSERT INTO regions VALUES ('us', 'Americas');
DELETE FROM tickets WHERE id = 3;
CREATE TABLE unrelated (id int PRIMARY KEY);
INSERT INTO unrelated VALUES (1);
TRUNCATE regions, unrelated;
SELECT * FROM changes('models');

SELECT try($$SELECT register_read_model('again', 'ticket_cards')$$);
SELECT try($$SELECT register_read_model('ticket_cards', 'ticket_regions')$$);
SELECT try($$SELECT register_read_model('Ticket-Cards', 'ticket_regions')$$);
-- Two models' hashes would share names.
SELECT try($$SELECT register_read_model('same_stem', 'ticket_regions', 'ticket_cards:{id}:r')$$);
SELECT try($$SELECT register_read_model('expressions', 'v_expression')$$);
SELECT try($$UPDATE read_models SET name = 'renamed' WHERE name = 'ticket_cards'$$);
SELECT try($$SELECT drop_read_model('nope')$$);
SELECT try('TRUNCATE read_models');
SELECT try($$SELECT register_read_model(NULL, 'ticket_regions')$$);
SELECT try($$INSERT INTO read_models (name) VALUES ('no_view')$$);

-- Who may register: a role granted INSERT, for the views it owns and can read.
CREATE ROLE regress_modeller;
GRANT SELECT ON tickets TO regress_modeller;
CREATE VIEW regions_of_tickets AS SELECT t.id, r.label FROM tickets t JOIN regions r ON r.code = t.region;
ALTER VIEW regions_of_tickets OWNER TO regress_modeller;
SET ROLE regress_modeller;
SELECT try($$SELECT register_read_model('regions_of_tickets', 'regions_of_tickets')$$);
RESET ROLE;
GRANT INSERT, DELETE ON read_models TO regress_modeller;
SET ROLE regress_modeller;
SELECT try($$SELECT register_read_model('others', 'ticket_regions')$$);
SELECT try($$SELECT register_read_model('regions_of_tickets', 'regions_of_tickets')$$);
RESET ROLE;
GRANT SELECT ON regions TO regress_modeller;
SET ROLE regress_modeller;
SELECT name, key FROM register_read_model('regions_of_tickets', 'regions_of_tickets');
SELECT drop_read_model('regions_of_tickets');
RESET ROLE;

-- DDL cannot break a registered model; PostgreSQL guards the columns a view uses itself.
SELECT try('DROP VIEW ticket_cards');
SELECT try('DROP VIEW ticket_cards CASCADE');
SELECT try('DROP TABLE regions CASCADE');
SELECT try($$CREATE OR REPLACE VIEW tickets_by_email AS
  SELECT t.id AS ticket, c.name, c.vip, c.tier FROM tickets t JOIN customers c ON c.email = t.customer_email
   WHERE t.urgent$$);
SELECT try('ALTER TABLE customers REPLICA IDENTITY NOTHING');
SELECT try('ALTER TABLE customers REPLICA IDENTITY DEFAULT');
SELECT try('ALTER TABLE customers DROP CONSTRAINT customers_email_key');
SELECT try('ALTER TABLE customers RENAME COLUMN name TO full_name');
SELECT try('ALTER TABLE regions SET UNLOGGED');
SELECT try('ALTER TABLE tickets DROP COLUMN status');
SELECT try('ALTER TABLE tickets ALTER COLUMN priority TYPE bigint');
SELECT try('CREATE TABLE tickets_2026 () INHERITS (tickets)');
-- What leaves the models as they are goes through.
SELECT try('ALTER TABLE customers ADD COLUMN phone text');
SELECT try('CREATE INDEX ON tickets (status)');
SELECT try('ALTER TABLE customers RENAME COLUMN tier TO level');
SELECT name, plan - 'version' = read_model_plan(view, name, key) AS same_plan FROM read_models ORDER BY name;

-- Replacing: a new view, or a new key, under the same name is the model's next version; the
-- stream says so at its commit and carries the new plan's columns from then on.
CREATE VIEW ticket_cards_v2 AS
  SELECT t.id, t.status, c.name AS customer FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id;
SELECT name, view, key, version, plan ->> 'version' AS plan_version
  FROM replace_read_model('ticket_cards', 'ticket_cards_v2');
INSERT INTO tickets (id, customer_id, customer_email, region, status, priority, amount, title, urgent)
  VALUES (4, 1, 'ada@example.com', 'eu', 'open', 3, 1.00, 'y', false);
SELECT * FROM changes('models');
-- The same definition again changes nothing; a new key alone is a new version.
SELECT version FROM replace_read_model('ticket_cards', 'ticket_cards_v2');
SELECT key, version FROM replace_read_model('ticket_cards', 'ticket_cards_v2', 'card:{id}');
SELECT * FROM changes('models');
-- read_model_status: each model against what the sidecar of each pgcqrs slot reported (here
-- written by hand): none yet, then the models readers read and their versions.
SELECT name, version, slot, state, version_in_redis, redis_lsn FROM read_model_status ORDER BY name;
INSERT INTO read_model_progress (slot, lsn, generation, models) VALUES ('models', '0/1', 1, '{"ticket_cards": 2}');
SELECT name, version, slot, state, version_in_redis, redis_lsn FROM read_model_status ORDER BY name;
UPDATE read_model_progress SET lsn = '0/2', models = '{"ticket_cards": 3, "by_email": 1}';
SELECT name, version, slot, state, version_in_redis, redis_lsn FROM read_model_status ORDER BY name;
DELETE FROM read_model_progress;
SELECT try($$SELECT replace_read_model('nope', 'ticket_cards_v2')$$);
SELECT try($$SELECT replace_read_model('ticket_cards', 'tickets_by_email')$$);
SELECT try($$SELECT replace_read_model('ticket_cards', 'v_expression')$$);
SELECT try($$SELECT replace_read_model('ticket_cards', 'ticket_regions', 'ticket:{id}')$$);
-- The old view is free once replaced (v_view_from, which reads it, goes too); the new one is held.
DROP VIEW ticket_cards CASCADE;
SELECT try('DROP VIEW ticket_cards_v2');
-- Only a role granted UPDATE replaces, and only with a view it owns.
CREATE VIEW modeller_cards AS SELECT id, status FROM tickets;
ALTER VIEW modeller_cards OWNER TO regress_modeller;
SET ROLE regress_modeller;
SELECT try($$SELECT replace_read_model('ticket_cards', 'modeller_cards')$$);
RESET ROLE;
GRANT UPDATE ON read_models TO regress_modeller;
SET ROLE regress_modeller;
SELECT try($$SELECT replace_read_model('ticket_cards', 'ticket_regions')$$);
SELECT name, view, version FROM replace_read_model('ticket_cards', 'modeller_cards');
RESET ROLE;
SELECT drop_read_model('ticket_cards');
DROP VIEW ticket_cards_v2, modeller_cards;
SELECT * FROM changes('models');

-- Dropping a model frees its view.
SELECT drop_read_model('by_email');
DROP VIEW tickets_by_email;

-- The upgrade from 1.0 gives the same catalog, and DROP EXTENSION takes registered models with it.
DROP EXTENSION pgcqrs;
SELECT count(*) AS tables_left FROM pg_class WHERE relname = 'read_models';
CREATE EXTENSION pgcqrs VERSION '1.0';
ALTER EXTENSION pgcqrs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgcqrs';
SELECT name, key, version FROM register_read_model('regions', 'ticket_regions');
SELECT drop_read_model('regions');

DROP VIEW ticket_regions, tickets_using, regions_of_tickets, v_expression, v_system, v_whole_row, v_group,
  v_subquery, v_with, v_union, v_window, v_srf, v_distinct, v_order, v_limit, v_lock, v_comma, v_no_from,
  v_right, v_full, v_natural, v_nested, v_not_unique, v_deferrable, v_types, v_operator, v_join_filter,
  v_two_tables, v_backwards, v_subquery_from, v_function_from, v_values_from,
  v_matview_from, v_inherited, v_partitioned, v_unlogged, v_identity, v_keyless, v_keyless_full,
  v_sample, v_or, v_lookup_filter, v_numeric, v_timestamp, v_range, v_null, v_cast, v_column_column,
  v_in_column, v_expression_filter, v_like, v_no_key;
DROP MATERIALIZED VIEW ticket_counts;
DROP TABLE ticket_notes, tickets, customers, regions, archive, archive_2025, events, scratch, silent, keyless, keyless_full;
DROP FUNCTION refusal(regclass, text);
DROP TABLE unrelated;
SELECT 'dropped' FROM pg_drop_replication_slot('models');
DROP OWNED BY regress_modeller;
DROP ROLE regress_modeller;
