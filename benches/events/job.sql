-- The Spark-vs-Dask events job: page views per customer, url and hour, as the nested records of
-- docs of the events job (shared/events-job.md). Run it over a table named `events`
-- (year=/month=/day=/hour=/customer= hive folders of url, referrer, session_id, ts).
SELECT
  concat_ws('|', url, customer, date_format(window(ts, '1 hour').start, 'yyyy-MM-dd''T''HH:mm:ss')) AS _id,
  customer,
  url,
  '1hour' AS freq,
  date_format(window(ts, '1 hour').start, 'yyyy-MM-dd''T''HH:mm:ss') AS ts,
  named_struct('page_views', count(*), 'visitors', count(DISTINCT session_id)) AS metrics,
  count_values(referrer) AS referrers
FROM events
GROUP BY customer, url, window(ts, '1 hour')
