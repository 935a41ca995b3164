-- Orders per person, joined with the people table; used by the CLI tests.
CREATE TEMP VIEW spend AS
SELECT name, count(*) AS orders, sum(amount) AS total
FROM orders
GROUP BY name;

SELECT p.name, p.city, s.orders, s.total
FROM people p JOIN spend s ON p.name = s.name
ORDER BY p.name;
