-- pgbench script: the least database work one apply can cost, with no client logic at all.
-- An apply commits three times (exactly once needs it): the ledger records the attempt (lock
-- the proposal, insert the job, move the state, append the event), the source database writes
-- the row with its receipt (lock the row, look the receipt up, update, insert the receipt),
-- and the ledger records the receipt (as the first). Each is modelled as one small prepared
-- transaction on pgbench's tables. One run of the script = one apply.
\set aid random(1, 200000)
\set bid random(1, 2)
\set tid random(1, 20)
BEGIN;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid FOR UPDATE;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, 1, CURRENT_TIMESTAMP);
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, 2, CURRENT_TIMESTAMP);
END;
BEGIN;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid + 1 FOR UPDATE;
SELECT count(*) FROM pgbench_history WHERE tid = :tid AND bid = :bid AND false;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid + 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, 3, CURRENT_TIMESTAMP);
END;
BEGIN;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid FOR UPDATE;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, 4, CURRENT_TIMESTAMP);
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, 5, CURRENT_TIMESTAMP);
END;
