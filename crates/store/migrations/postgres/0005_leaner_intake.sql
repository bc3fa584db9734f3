-- Indexes a delivery's insert no longer touches: each index a new job or
-- log line enters costs its commit a page more to write. An index only
-- finished jobs need now holds only those, and the delivery log's time
-- index goes (its hourly prune reads the whole log, as its trim by count
-- already does).
DROP INDEX jobs_by_end;
CREATE INDEX jobs_by_end ON jobs (end_time) WHERE end_time IS NOT NULL;
DROP INDEX deliveries_by_time;
