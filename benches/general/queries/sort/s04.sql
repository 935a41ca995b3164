-- s04: ORDER BY an integer column, LIMIT 100
-- check: order 1 limit 100
SELECT id6, id3, v3 FROM t ORDER BY id6 LIMIT 100
