-- g04: means by a 100-value integer key (h2oai q4)
-- check: unordered
SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM t GROUP BY id4
