-- Indexes a delivery's insert no longer touches. Every index a new job or
-- log line enters is one page more in each commit's write-ahead log (a
-- commit of one delivery wrote 17 pages): an index only finished jobs or
-- running ones need now holds only those, and the delivery log's time
-- index goes (its hourly prune reads the whole log, as its trim by count
-- already does).
DROP INDEX jobs_by_end;
CREATE INDEX jobs_by_end ON jobs (end_time) WHERE end_time IS NOT NULL;
DROP INDEX jobs_by_receiver_status;
CREATE INDEX jobs_running_by_receiver ON jobs (receiver_id) WHERE status = 'EXECUTING';
DROP INDEX deliveries_by_time;
