-- s05: ORDER BY two columns: a 100-value string ascending, a double with NULLs descending
-- check: order 1,2
SELECT id1, v3, id6 FROM t ORDER BY id1, v3 DESC NULLS LAST
