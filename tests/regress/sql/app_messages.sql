-- Application events pass through in transaction order; bad ones never stop decoding.
SELECT 'init' FROM pg_create_logical_replication_slot('regress', 'pgcqrs');

BEGIN;
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "CartAbandoned", "cart": 7, "items": [1, 2]}');
INSERT INTO users (name, email) VALUES ('Ivy', 'ivy@example.com');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "WelcomeMailSent", "user": "Ivy"}');
COMMIT;

-- Malformed messages become InvalidMessage with the raw text; decoding goes on.
BEGIN;
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "Broken"');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', 'plain text');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"no_type": 1}');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "OrderPlaced", "order_id": 1}');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '');
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '\xff00'::bytea);
-- A number no double holds: the sidecar could not read the event, so it is refused here.
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "Huge", "n": 1e400}');
COMMIT;

-- Other prefixes, non-transactional messages and rolled-back messages are not events.
SELECT 'sent' FROM pg_logical_emit_message(true, 'another-app', '{"type": "Foreign"}');
SELECT 'sent' FROM pg_logical_emit_message(false, 'pgcqrs', '{"type": "Untransactional"}');
BEGIN;
SELECT 'sent' FROM pg_logical_emit_message(true, 'pgcqrs', '{"type": "RolledBack"}');
ROLLBACK;

SELECT * FROM changes();
SELECT 'dropped' FROM pg_drop_replication_slot('regress');
