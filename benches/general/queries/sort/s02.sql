-- s02: ORDER BY a string column, LIMIT 100
-- check: order 1 limit 100
SELECT id3, id6, v3 FROM t ORDER BY id3 LIMIT 100
