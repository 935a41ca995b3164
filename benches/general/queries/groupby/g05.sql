-- g05: sums by a 10,000-value integer key (h2oai q5)
-- check: unordered
SELECT id5, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM t GROUP BY id5
