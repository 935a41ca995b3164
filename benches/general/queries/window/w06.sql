-- w06: sliding ROWS frame over one window partition of every row, rsql under --memory-limit 256MB
-- check: unordered
-- rsql-args: --memory-limit 256MB
SELECT id6, id3, v3, sum(v1) OVER (ORDER BY id6, id3, v3 NULLS LAST ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS s
FROM t
