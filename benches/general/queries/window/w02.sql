-- w02: running sum over one ordering of every row (one window partition, peers included)
-- check: unordered
SELECT id6, id3, v3, sum(v1) OVER (ORDER BY id6, id3, v3 NULLS LAST) AS running_v1 FROM t
