-- g12: count(DISTINCT) of a high-cardinality integer by a 100-value integer key
-- check: unordered
SELECT id4, count(DISTINCT id6) AS distinct_id6 FROM t GROUP BY id4
