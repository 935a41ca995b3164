-- g10: sum and count by six keys, about one group per row (h2oai q10)
-- check: unordered
SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS n FROM t GROUP BY id1, id2, id3, id4, id5, id6
