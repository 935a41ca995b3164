-- w05: count(DISTINCT) of a string of rows / 100 values, the exact answer w04 estimates
-- check: unordered
SELECT count(DISTINCT id3) AS distinct_id3 FROM t
