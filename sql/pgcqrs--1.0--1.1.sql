-- pgcqrs 1.0 -> 1.1: declarative read models, registered as views over the user's own tables
-- (docs/read-models.md, "Declarative read models"). This version registers, explains,
-- replaces and guards them, and the plugin streams the rows of the tables they read
-- (docs/events.md, "Row events"), from which the sidecar keeps them in Redis.
-- Errors: CQ008 a view that cannot be a read model, or a change that would break one.

\echo Use "ALTER EXTENSION pgcqrs UPDATE TO '1.1'" to load this file. \quit

-- An item's line total, computed by PostgreSQL, so that a declarative model can nest and sum it
-- (expressions belong in generated columns: docs/read-models.md). numeric(28,2) holds any
-- int quantity times a numeric(12,2) price. Adding it rewrites order_items once.
ALTER TABLE @extschema@.order_items
  ADD COLUMN line_total pg_catalog.numeric(28,2)
    GENERATED ALWAYS AS (quantity OPERATOR(pg_catalog.*) unit_price) STORED;

-- The analysis (extension/src/read_model.cpp): the plan of a view as read model `name` with
-- key template `key` (NULL: name:{primary key columns}), ranked by its column `rank` (NULL:
-- not ranked), or error CQ008 saying why it cannot be one.
CREATE FUNCTION @extschema@.read_model_plan(view pg_catalog.regclass, name pg_catalog.text, key pg_catalog.text,
                                            rank pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.jsonb LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'pgcqrs_read_model_plan';

-- The registered models. A row is written through register_read_model() or a plain INSERT
-- (of name, view and optionally key): either way the trigger below computes the plan and
-- checks that the role registering may publish what the view shows.
CREATE TABLE @extschema@.read_models (
  name pg_catalog.text PRIMARY KEY
    CONSTRAINT read_models_name_check CHECK (name OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]{0,47}$'),
  view pg_catalog.regclass NOT NULL CONSTRAINT read_models_view_key UNIQUE,
  key pg_catalog.text,
  rank pg_catalog.text,
  plan pg_catalog.jsonb,
  version pg_catalog.int4 NOT NULL DEFAULT 1,
  registered_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
) WITH (user_catalog_table = true);  -- readable while decoding, as of each change's snapshot
SELECT pg_catalog.pg_extension_config_dump('@extschema@.read_models', '');
REVOKE ALL ON @extschema@.read_models FROM PUBLIC;
GRANT SELECT ON @extschema@.read_models TO PUBLIC;

COMMENT ON TABLE @extschema@.read_models IS
  'Declarative read models: a view over the user''s tables, its Redis key template and the plan '
  'the analysis found (docs/read-models.md). GRANT INSERT, UPDATE, DELETE to the roles that may '
  'register, replace and drop.';

-- Where each sidecar's Redis stands with the models: the sidecar streaming slot `slot` writes
-- its row when it changes, at most every few seconds (docs/read-models.md, "A model's state").
-- Runtime state, not dumped. GRANT INSERT, UPDATE on it to the sidecar's role.
CREATE TABLE @extschema@.read_model_progress (
  slot pg_catalog.name PRIMARY KEY,
  lsn pg_catalog.pg_lsn NOT NULL,        -- Redis's checkpoint: what the models hold is as of this commit
  generation pg_catalog.int8 NOT NULL,   -- the generation readers read
  models pg_catalog.jsonb NOT NULL,      -- {model name: the version readers read}
  reported_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON @extschema@.read_model_progress FROM PUBLIC;
GRANT SELECT ON @extschema@.read_model_progress TO PUBLIC;

-- Each registered model, for each slot of this database decoding through pgcqrs: the version
-- registered, the version readers read in that slot's Redis, and what that makes the model.
CREATE VIEW @extschema@.read_model_status AS
  SELECT m.name, m.version, s.slot_name AS slot,
         CASE WHEN p.slot IS NULL THEN 'unreported'
              WHEN NOT p.models OPERATOR(pg_catalog.?) m.name THEN 'pending'
              WHEN (p.models OPERATOR(pg_catalog.->>) m.name)::pg_catalog.int4 OPERATOR(pg_catalog.<>) m.version
                THEN 'replacing'
              ELSE 'live' END AS state,
         (p.models OPERATOR(pg_catalog.->>) m.name)::pg_catalog.int4 AS version_in_redis,
         p.lsn AS redis_lsn, s.confirmed_flush_lsn AS confirmed_lsn, p.reported_at, m.registered_at
    FROM @extschema@.read_models m
    CROSS JOIN pg_catalog.pg_replication_slots s
    LEFT JOIN @extschema@.read_model_progress p ON p.slot OPERATOR(pg_catalog.=) s.slot_name
   WHERE s.plugin OPERATOR(pg_catalog.=) 'pgcqrs' AND s.database OPERATOR(pg_catalog.=) pg_catalog.current_database();
GRANT SELECT ON @extschema@.read_model_status TO PUBLIC;

-- Who registers a view must own it and be able to read it: the sidecar publishes every row
-- the view shows, to whoever reads Redis. Runs as the role registering (not SECURITY DEFINER).
-- An UPDATE replaces the model's view or key (replace_read_model): a new version, whose plan
-- the stream carries in ReadModelReplaced; one that would change nothing is skipped.
CREATE FUNCTION @extschema@.read_models_check() RETURNS pg_catalog.trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  owner oid;
  other text;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.name IS DISTINCT FROM OLD.name THEN
    RAISE EXCEPTION 'pgcqrs: read model % cannot be renamed', OLD.name
      USING ERRCODE = 'CQ008', HINT = 'Register the view under the new name, then drop the old model.';
  END IF;
  IF NEW.name IS NULL OR NEW.view IS NULL THEN
    RAISE EXCEPTION 'pgcqrs: a read model needs a view and a name' USING ERRCODE = '22004';
  END IF;
  SELECT c.relowner INTO owner FROM pg_class c WHERE c.oid = NEW.view;
  IF NOT pg_has_role(current_user, owner, 'USAGE') THEN
    RAISE EXCEPTION 'pgcqrs: role % does not own view %', current_user, NEW.view
      USING ERRCODE = '42501', HINT = 'The view''s owner registers it: the read model publishes what it shows.';
  END IF;
  -- The privilege checks of a read, without reading: the caller's on the view, the view
  -- owner's on its tables.
  EXECUTE format('SELECT FROM %s LIMIT 0', NEW.view);
  NEW.plan := @extschema@.read_model_plan(NEW.view, NEW.name, NEW.key, NEW.rank);
  NEW.key := NEW.plan OPERATOR(pg_catalog.->>) 'key';
  IF TG_OP = 'UPDATE' THEN
    IF NEW.view = OLD.view AND NEW.plan = OLD.plan OPERATOR(pg_catalog.-) 'version' THEN
      RETURN NULL;  -- the same definition: nothing to replace
    END IF;
    NEW.version := OLD.version + 1;
  ELSE
    NEW.version := 1;
  END IF;
  -- The plan carries its version to the sidecar, which keeps it beside the model in Redis.
  NEW.plan := NEW.plan OPERATOR(pg_catalog.||) jsonb_build_object('version', NEW.version);
  -- Two models' hashes must never share a name: the text before the first placeholder tells
  -- them apart (the index read_models_key_stem holds it against concurrent registrations).
  SELECT m.name INTO other FROM @extschema@.read_models m
   WHERE split_part(m.key, '{', 1) = split_part(NEW.key, '{', 1) AND m.name <> NEW.name;
  IF FOUND THEN
    RAISE EXCEPTION 'pgcqrs: the key % of read model % starts as read model %''s does (%)', NEW.key, NEW.name,
      other, split_part(NEW.key, '{', 1)
      USING ERRCODE = 'CQ008', HINT = 'Begin each model''s key with a text of its own, such as its name.';
  END IF;
  NEW.registered_at := now();
  RETURN NEW;
END $$;

CREATE TRIGGER read_models_check BEFORE INSERT OR UPDATE ON @extschema@.read_models
  FOR EACH ROW EXECUTE FUNCTION @extschema@.read_models_check();
CREATE UNIQUE INDEX read_models_key_stem ON @extschema@.read_models ((pg_catalog.split_part(key, '{', 1)));

-- A model registered, replaced or dropped changes which tables the plugin reads, from that commit on
-- (extension/src/relation_map.cpp).
CREATE FUNCTION @extschema@.read_models_changed() RETURNS pg_catalog.trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'pgcqrs_read_models_changed';

CREATE TRIGGER read_models_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.read_models
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.read_models_changed();

-- The stream reports each model registered, replaced and dropped (ReadModelRegistered,
-- ReadModelReplaced, ReadModelDropped);
-- a TRUNCATE would drop them all without a word to it.
CREATE FUNCTION @extschema@.read_models_truncate_refused() RETURNS pg_catalog.trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'pgcqrs: read_models cannot be truncated'
    USING ERRCODE = 'CQ008', HINT = 'Drop the models one by one, with drop_read_model(name).';
END $$;

CREATE TRIGGER read_models_truncate_refused BEFORE TRUNCATE ON @extschema@.read_models
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.read_models_truncate_refused();

CREATE FUNCTION @extschema@.register_read_model(name pg_catalog.text, view pg_catalog.regclass,
                                                key pg_catalog.text DEFAULT NULL, rank pg_catalog.text DEFAULT NULL)
RETURNS @extschema@.read_models
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  registered @extschema@.read_models;
BEGIN
  SELECT * INTO registered FROM @extschema@.read_models m WHERE m.name = $1 OR m.view = $2;
  IF FOUND THEN
    RAISE EXCEPTION 'pgcqrs: view % is registered already, as read model %', registered.view, registered.name
      USING ERRCODE = '42710', HINT = 'Drop that model first (pgcqrs.drop_read_model), or choose another name.';
  END IF;
  INSERT INTO @extschema@.read_models (name, view, key, rank) VALUES ($1, $2, $3, $4) RETURNING * INTO registered;
  RETURN registered;
END $$;

-- A new definition of model `name`: another view, or another key for the same one. The
-- sidecar keeps serving the old definition until the new one is complete in Redis, then
-- switches readers to it in one step (docs/read-models.md, "Replacing a model").
CREATE FUNCTION @extschema@.replace_read_model(name pg_catalog.text, view pg_catalog.regclass,
                                               key pg_catalog.text DEFAULT NULL, rank pg_catalog.text DEFAULT NULL)
RETURNS @extschema@.read_models
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replaced @extschema@.read_models;
BEGIN
  PERFORM FROM @extschema@.read_models m WHERE m.name = $1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'pgcqrs: no read model %', $1 USING ERRCODE = '42704';
  END IF;
  SELECT * INTO replaced FROM @extschema@.read_models m WHERE m.view = $2 AND m.name <> $1;
  IF FOUND THEN
    RAISE EXCEPTION 'pgcqrs: view % is registered already, as read model %', replaced.view, replaced.name
      USING ERRCODE = '42710', HINT = 'A view serves one model: create another view for this one.';
  END IF;
  UPDATE @extschema@.read_models m SET view = $2, key = $3, rank = $4 WHERE m.name = $1;
  SELECT * INTO STRICT replaced FROM @extschema@.read_models m WHERE m.name = $1;
  RETURN replaced;
END $$;

CREATE FUNCTION @extschema@.drop_read_model(name pg_catalog.text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM @extschema@.read_models m WHERE m.name = $1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'pgcqrs: no read model %', $1 USING ERRCODE = '42704';
  END IF;
END $$;

-- The plan in words: what a row of the model is, which changes reach which rows (the
-- fan-out), or the error that refuses the view.
CREATE FUNCTION @extschema@.explain_read_model(view pg_catalog.regclass, name pg_catalog.text DEFAULT NULL,
                                               key pg_catalog.text DEFAULT NULL, rank pg_catalog.text DEFAULT NULL)
RETURNS SETOF pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  model text := coalesce(name, (SELECT c.relname FROM pg_class c WHERE c.oid = view));
  plan jsonb := @extschema@.read_model_plan(view, model, key, rank);
  tables jsonb := plan -> 'tables';
  t jsonb;
  c jsonb;
  f jsonb;
  i int;
  n bigint;
  via text;
  from_columns text;
  key_columns text;
  line text;
BEGIN
  RETURN NEXT format('read model %s of view %s', model, view);
  RETURN NEXT format('  key: %s', plan ->> 'key');
  t := tables -> 0;
  IF plan ? 'group' THEN
    RETURN NEXT format('  a hash per group of the rows of %s with the same (%s)', t ->> 'table',
                       (SELECT string_agg(k, ', ') FROM jsonb_array_elements_text(plan -> 'group') k));
    RETURN NEXT format('  each row kept by %s (%s), to take it out of its group when it changes', t ->> 'key_index',
                       (SELECT string_agg(k, ', ') FROM jsonb_array_elements_text(t -> 'key') k));
  ELSE
    RETURN NEXT format('  a hash per row of %s, keyed by %s (%s)', t ->> 'table', t ->> 'key_index',
                       (SELECT string_agg(k, ', ') FROM jsonb_array_elements_text(t -> 'key') k));
  END IF;
  FOR i IN 1 .. jsonb_array_length(tables) - 1 LOOP
    t := tables -> i;
    via := tables -> (t ->> 'via')::int ->> 'table';
    IF t ->> 'join' = 'nested' THEN
      SELECT string_agg(format('%s.%s = %s.%s', t ->> 'table', k.value, via, v.value), ' AND ')
        INTO line
        FROM jsonb_array_elements_text(t -> 'parent') WITH ORDINALITY k
        JOIN jsonb_array_elements_text(t -> 'from') WITH ORDINALITY v ON v.ordinality = k.ordinality;
      RETURN NEXT format('  nested rows of %s where %s, each kept by %s', t ->> 'table', line, t ->> 'key_index');
      RETURN NEXT format('    a change to a row of %s rewrites the row it names (and the one it named)', t ->> 'table');
      CONTINUE;
    END IF;
    SELECT string_agg(format('%s.%s = %s.%s', t ->> 'table', k.value, via, v.value), ' AND '),
           string_agg(v.value, ', '), string_agg(k.value, ', '), count(*)
      INTO line, from_columns, key_columns, n
      FROM jsonb_array_elements_text(t -> 'key') WITH ORDINALITY k
      JOIN jsonb_array_elements_text(t -> 'from') WITH ORDINALITY v ON v.ordinality = k.ordinality;
    RETURN NEXT format('  %s join %s on %s (%s)', t ->> 'join', t ->> 'table', line, t ->> 'key_index');
    IF n = 1 THEN
      RETURN NEXT format('    fan-out: a change to a row of %s rewrites the rows whose %s.%s equals its %s',
                         t ->> 'table', via, from_columns, key_columns);
    ELSE
      RETURN NEXT format('    fan-out: a change to a row of %s rewrites the rows whose %s.(%s) equal its (%s)',
                         t ->> 'table', via, from_columns, key_columns);
    END IF;
  END LOOP;
  FOR c IN SELECT * FROM jsonb_array_elements(plan -> 'columns') LOOP
    IF c ->> 'nested' = 'array' THEN
      RETURN NEXT format('  column %s: jsonb_agg of {%s} of %s ordered by %s%s', c ->> 'name',
                         (SELECT string_agg(format('%s: %s', fld ->> 'key', fld ->> 'column'), ', ')
                            FROM jsonb_array_elements(c -> 'fields') fld),
                         tables -> (c ->> 'table')::int ->> 'table',
                         (SELECT string_agg((ord ->> 'column') || CASE WHEN (ord ->> 'desc')::boolean THEN ' DESC' ELSE '' END, ', ')
                            FROM jsonb_array_elements(c -> 'order') ord),
                         CASE WHEN c ? 'empty' THEN ', [] when none' ELSE ', NULL when none' END);
    ELSIF c ? 'nested' THEN
      RETURN NEXT format('  column %s: %s(%s) of the nested rows of %s (%s)', c ->> 'name', c ->> 'nested',
                         coalesce(c ->> 'column', '*'), tables -> (c ->> 'table')::int ->> 'table', c ->> 'type');
    ELSIF c ? 'aggregate' THEN
      RETURN NEXT format('  column %s: %s(%s) (%s%s)', c ->> 'name', c ->> 'aggregate',
                         coalesce((tables -> (c ->> 'table')::int ->> 'table') || '.' || (c ->> 'column'), '*'),
                         c ->> 'type', CASE WHEN c ? 'scale' THEN format(', %s decimals', c ->> 'scale') ELSE '' END);
    ELSE
      RETURN NEXT format('  column %s: %s.%s (%s)', c ->> 'name', tables -> (c ->> 'table')::int ->> 'table',
                         c ->> 'column', c ->> 'type');
    END IF;
  END LOOP;
  FOR f IN SELECT * FROM jsonb_array_elements(plan -> 'filters') LOOP
    line := format('  %s: %s.%s %s', CASE WHEN (f ->> 'table')::int = 0 THEN 'filter' ELSE 'filter of the nested rows' END,
                   tables -> (f ->> 'table')::int ->> 'table', f ->> 'column', f ->> 'op');
    IF jsonb_array_length(f -> 'values') > 0 THEN
      line := line || ' ' || (SELECT CASE WHEN f ->> 'op' IN ('in', 'not in') THEN '(' || string_agg(quote_literal(v), ', ') || ')'
                                          ELSE string_agg(quote_literal(v), ', ') END
                                FROM jsonb_array_elements_text(f -> 'values') v);
    END IF;
    RETURN NEXT line;
  END LOOP;
  IF plan ? 'rank' THEN
    RETURN NEXT format('  ranked by %s: a sorted set per bucket, %s{b}, scored by it', plan ->> 'rank',
                       split_part(plan ->> 'key', '{', 1));
  END IF;
END $$;

-- DDL may not break a registered model: a view dropped (or replaced) under it, a table or
-- index it relies on changed so that the analysis refuses it or finds another plan. PostgreSQL
-- itself refuses to drop or retype a column a view uses; this catches the rest, at the end of
-- the command, which an error rolls back.
CREATE FUNCTION @extschema@.read_models_guard() RETURNS pg_catalog.event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m record;
  plan jsonb;
BEGIN
  FOR m IN SELECT * FROM @extschema@.read_models LOOP
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = m.view) THEN
      RAISE EXCEPTION 'pgcqrs: the view of read model % cannot be dropped while the model is registered', m.name
        USING ERRCODE = 'CQ008', HINT = format('Drop the model first: SELECT pgcqrs.drop_read_model(%L).', m.name);
    END IF;
    BEGIN
      plan := @extschema@.read_model_plan(m.view, m.name, m.key, m.rank);
    EXCEPTION WHEN SQLSTATE 'CQ008' THEN
      RAISE EXCEPTION 'pgcqrs: this command would break read model %: %', m.name,
        regexp_replace(SQLERRM, '^pgcqrs: ', '')
        USING ERRCODE = 'CQ008', HINT = 'Drop the model first, or leave what it relies on as it is.';
    END;
    IF plan <> m.plan OPERATOR(pg_catalog.-) 'version' THEN
      RAISE EXCEPTION 'pgcqrs: this command would change what read model % reads', m.name
        USING ERRCODE = 'CQ008',
              DETAIL = format('Its plan was %s; it would become %s.', m.plan OPERATOR(pg_catalog.-) 'version', plan),
              HINT = 'Leave what it relies on as it is, or replace the model by a new view (pgcqrs.replace_read_model).';
    END IF;
  END LOOP;
END $$;

CREATE EVENT TRIGGER pgcqrs_read_models_changed ON ddl_command_end
  EXECUTE FUNCTION @extschema@.read_models_guard();
CREATE EVENT TRIGGER pgcqrs_read_models_dropped ON sql_drop
  EXECUTE FUNCTION @extschema@.read_models_guard();

-- The write model's guard (pgcqrs--1.0.sql) lets read_models join the extension beside the
-- four write-model tables; it is otherwise unchanged.
CREATE OR REPLACE FUNCTION @extschema@.model_guard() RETURNS pg_catalog.event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  hint CONSTANT text := 'The write model changes only through ALTER EXTENSION pgcqrs UPDATE; '
                        'columns added beside it may be changed freely.';
  ext oid;
  ext_schema oid;
  members oid[];
  tbl text;
  col text;
  typ text;
  rel record;
  found_type text;
BEGIN
  SELECT e.oid, e.extnamespace INTO ext, ext_schema FROM pg_extension e WHERE e.extname = 'pgcqrs';
  SELECT coalesce(array_agg(d.objid), '{}') INTO members
    FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
   WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
     AND d.refobjid = ext AND d.deptype = 'e' AND c.relkind IN ('r', 'p');

  -- Only commands outside the extension's scripts that touched the extension, one of its
  -- tables, or a table inheriting from one.
  IF NOT EXISTS (
      SELECT FROM pg_event_trigger_ddl_commands() c
       WHERE NOT c.in_extension
         AND ((c.classid = 'pg_extension'::regclass AND c.objid = ext)
           OR (c.classid = 'pg_class'::regclass
               AND (c.objid = ANY (members)
                    OR EXISTS (SELECT FROM pg_inherits i
                                WHERE i.inhrelid = c.objid AND i.inhparent = ANY (members)))))) THEN
    RETURN;
  END IF;

  FOREACH tbl IN ARRAY ARRAY['users', 'products', 'orders', 'order_items'] LOOP
    SELECT c.oid, c.relreplident, c.relpersistence INTO rel
      FROM pg_class c WHERE c.relnamespace = ext_schema AND c.relname = tbl AND c.oid = ANY (members);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'pgcqrs: table %.% of the write model cannot be renamed, moved or dropped from the extension',
        ext_schema::regnamespace, tbl USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
    IF rel.relreplident <> 'f' THEN
      RAISE EXCEPTION 'pgcqrs: table % must keep REPLICA IDENTITY FULL, not %: events carry old values from it',
        rel.oid::regclass,
        CASE rel.relreplident WHEN 'd' THEN 'DEFAULT' WHEN 'n' THEN 'NOTHING' ELSE 'USING INDEX' END
        USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
    IF rel.relpersistence <> 'p' THEN
      RAISE EXCEPTION 'pgcqrs: table % cannot be unlogged: its changes would reach no event', rel.oid::regclass
        USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
    SELECT i.inhrelid::regclass::text INTO found_type FROM pg_inherits i WHERE i.inhparent = rel.oid LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'pgcqrs: table % cannot inherit from %: its rows would reach no event', found_type, rel.oid::regclass
        USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
  END LOOP;

  SELECT c.oid::regclass::text INTO tbl FROM pg_class c
   WHERE c.oid = ANY (members)
     AND NOT (c.relnamespace = ext_schema AND c.relname IN ('users', 'products', 'orders', 'order_items', 'read_models',
                                                                  'read_model_progress'))
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'pgcqrs: table % cannot join the extension: the plugin would take it for a write-model table', tbl
      USING ERRCODE = 'CQ007', HINT = hint;
  END IF;

  -- The columns as the tables above create them.
  FOR tbl, col, typ IN VALUES
      ('users', 'id', 'bigint'), ('users', 'name', 'text'), ('users', 'email', 'text'),
      ('users', 'is_active', 'boolean'), ('users', 'created_at', 'timestamp with time zone'),
      ('products', 'id', 'bigint'), ('products', 'name', 'text'),
      ('products', 'price', 'numeric(12,2)'), ('products', 'is_active', 'boolean'),
      ('orders', 'id', 'bigint'), ('orders', 'user_id', 'bigint'), ('orders', 'status', 'text'),
      ('orders', 'created_at', 'timestamp with time zone'),
      ('orders', 'updated_at', 'timestamp with time zone'),
      ('order_items', 'order_id', 'bigint'), ('order_items', 'product_id', 'bigint'),
      ('order_items', 'quantity', 'integer'), ('order_items', 'unit_price', 'numeric(12,2)')
  LOOP
    SELECT format_type(a.atttypid, a.atttypmod) INTO found_type
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = ext_schema AND c.relname = tbl AND a.attname = col AND NOT a.attisdropped;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'pgcqrs: column %.% of the write model cannot be renamed or dropped', tbl, col
        USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
    IF found_type <> typ THEN
      RAISE EXCEPTION 'pgcqrs: column %.% of the write model must keep its type %, not %', tbl, col, typ, found_type
        USING ERRCODE = 'CQ007', HINT = hint;
    END IF;
  END LOOP;
END $$;
