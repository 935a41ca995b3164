-- w01: row_number top-3 per group over a string key of rows / 100 values (100,000 groups at 10M rows), by QUALIFY
-- check: unordered
SELECT id3, v3, id6, row_number() OVER (PARTITION BY id3 ORDER BY v3 DESC NULLS LAST, id6) AS rn
FROM t
QUALIFY rn <= 3
