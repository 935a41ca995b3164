-- g07: max - min by a string key of rows / 100 values (h2oai q7)
-- check: unordered
SELECT id3, max(v1) - min(v2) AS range_v1_v2 FROM t GROUP BY id3
