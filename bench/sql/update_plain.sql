-- One row update in its own transaction (bench_scratch, made by bench.py's notify).
\set id random(1, 1000)
BEGIN;
UPDATE bench_scratch SET n = n + 1 WHERE id = :id;
COMMIT;
