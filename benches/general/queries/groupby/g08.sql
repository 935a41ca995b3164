-- g08: min, max and counts (NULLs in v3) by a 100-value string key
-- check: unordered
SELECT id2, min(v3) AS min_v3, max(v3) AS max_v3, count(v3) AS n_v3, count(*) AS n FROM t GROUP BY id2
