-- g09: sum and count by a high-cardinality integer key (about 0.63 x rows groups)
-- check: unordered
SELECT id6, sum(v2) AS v2, count(*) AS n FROM t GROUP BY id6
