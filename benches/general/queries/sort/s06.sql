-- s06: ORDER BY two columns, LIMIT 100
-- check: order 1,2 limit 100
SELECT id1, v3, id6 FROM t ORDER BY id1, v3 DESC NULLS LAST LIMIT 100
