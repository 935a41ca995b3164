-- w03: median and standard deviation over each partition of a 100-value string key
-- check: unordered
SELECT id1, id6, v3, median(v3) OVER w AS median_v3, stddev(v3) OVER w AS sd_v3
FROM t
WINDOW w AS (PARTITION BY id1)
