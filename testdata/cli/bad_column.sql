-- The second statement names a column that does not exist.
SELECT count(*) AS n FROM people;

SELECT name,
       agee
FROM people;
