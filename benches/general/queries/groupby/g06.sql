-- g06: median and standard deviation by two integer keys, about 1M groups (h2oai q6)
-- check: unordered
SELECT id4, id5, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM t GROUP BY id4, id5
