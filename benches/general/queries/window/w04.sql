-- w04: approx_count_distinct of a string of rows / 100 values (both systems' sketches, within 15% of each other)
-- check: unordered rel 0.15
SELECT approx_count_distinct(id3) AS approx_distinct_id3 FROM t
