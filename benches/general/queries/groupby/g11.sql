-- g11: median and standard deviation by a 100-value string key (100,000 values per group at 10M rows)
-- check: unordered
SELECT id1, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM t GROUP BY id1
