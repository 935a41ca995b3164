-- g03: sum and mean by a string key of rows / 100 values, 100,000 at 10M rows (h2oai q3)
-- check: unordered
SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM t GROUP BY id3
