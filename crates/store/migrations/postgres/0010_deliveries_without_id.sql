-- A delivery without an id (most of ArcGIS's) enters no index for
-- duplicates: the unique pair becomes a partial index over the deliveries
-- that have one.
CREATE UNIQUE INDEX events_by_delivery ON events (receiver_id, delivery_id)
    WHERE delivery_id IS NOT NULL;
ALTER TABLE events DROP CONSTRAINT events_receiver_id_delivery_id_key;
