-- g02: sum by two 100-value string keys, 10,000 groups (h2oai q2)
-- check: unordered
SELECT id1, id2, sum(v1) AS v1 FROM t GROUP BY id1, id2
