-- s03: ORDER BY an integer column (about 0.63 x rows values)
-- check: order 1
SELECT id6, id3, v3 FROM t ORDER BY id6
