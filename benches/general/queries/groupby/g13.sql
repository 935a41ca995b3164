-- g13: count(DISTINCT) of a string of rows / 100 values by a 100-value string key
-- check: unordered
SELECT id1, count(DISTINCT id3) AS distinct_id3 FROM t GROUP BY id1
