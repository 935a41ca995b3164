-- g01: sum by a 100-value string key (h2oai q1)
-- check: unordered
SELECT id1, sum(v1) AS v1 FROM t GROUP BY id1
