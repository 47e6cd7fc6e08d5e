-- name: state-get
-- The store's state counter.
SELECT value FROM meta WHERE key = 'state';

-- name: state-bump
-- Move the store to a new state (run in every write transaction).
UPDATE meta SET value = value + 1 WHERE key = 'state';
