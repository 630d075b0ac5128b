-- First test: create the extension, check the write model's shape, and define helpers.
CREATE EXTENSION pgcqrs;

SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN ('users', 'products', 'orders', 'order_items')
 ORDER BY table_name, ordinal_position;

SELECT c.relname, c.relreplident
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcqrs') AND c.relkind = 'r'
 ORDER BY 1;

-- Tables registered for pg_dump (their rows are user data).
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension WHERE extname = 'pgcqrs' ORDER BY 1;

-- The decoded events of the slot, without volatile fields.
CREATE FUNCTION changes(slot name DEFAULT 'regress') RETURNS TABLE (data text)
LANGUAGE sql AS $$
  SELECT data FROM pg_logical_slot_get_changes(slot, NULL, NULL,
    'include-xid', '0', 'include-lsn', '0', 'include-timestamps', '0')
$$;

-- Runs a statement and returns 'ok' or its SQLSTATE and message.
CREATE FUNCTION try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
