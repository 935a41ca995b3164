-- s01: ORDER BY a string column (rows / 100 values), three columns out
-- check: order 1
SELECT id3, id6, v3 FROM t ORDER BY id3
