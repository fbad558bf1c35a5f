-- 0006_ingest_lag.sql: completeness and lag per topic-partition, in SQL.
--
--   execution.ingest_lag                    per topic-partition: stored offset,
--                                           newest event time, ingest latency
--   execution.ingest_watermarks             per kind: "complete up to" time
--   execution.ingest_latency(from, to)      latency statistics of a time window
--
-- One index per fact table on (kafka_topic, kafka_partition, <time column>) makes
-- "newest row of each topic-partition" a few index probes per partition instead of
-- a scan of the table: the distinct topic-partitions are found by skipping through
-- the index (a recursive query), then each one's newest row by a backward index
-- scan. The price is one more index to maintain on insert; it also serves "which
-- rows came from topic T partition P" when checking a backfill. Building it locks
-- the tables against writes while this migration runs.
CREATE INDEX ordersts_kafka_time_idx
    ON execution.OrdersTS (kafka_topic, kafka_partition, order_time);
CREATE INDEX ordereventsts_kafka_time_idx
    ON execution.OrderEventsTS (kafka_topic, kafka_partition, event_time);
CREATE INDEX tradests_kafka_time_idx
    ON execution.TradesTS (kafka_topic, kafka_partition, trade_time);

-- One row per topic-partition that has rows in a fact table (kind 'order',
-- 'order_event' or 'trade'), and per consumer group's stored position
-- (ingest_offsets) -- a partition with a stored offset but no rows yet has kind
-- NULL. Files recorded by `execrec load` appear as topic 'file:<name>',
-- partition 0, without a consumer group.
--   stored_offset       ingest_offsets.next_offset: the next offset to read
--   newest_event_time   the partition's newest order_time / event_time / trade_time
--   newest_offset, newest_kafka_timestamp, newest_ingested_at: that row's
--   ingest_latency      newest_ingested_at - newest_kafka_timestamp (NULL without
--                       a Kafka timestamp, e.g. for files)
-- "Newest" is by event time, not by offset: a late event does not make a
-- partition look further behind than it is.
CREATE VIEW execution.ingest_lag AS
WITH RECURSIVE
o_tp AS (
    (SELECT kafka_topic, kafka_partition FROM execution.OrdersTS
      ORDER BY kafka_topic, kafka_partition LIMIT 1)
    UNION ALL
    SELECT n.kafka_topic, n.kafka_partition
      FROM o_tp p, LATERAL (
          SELECT x.kafka_topic, x.kafka_partition FROM execution.OrdersTS x
           WHERE (x.kafka_topic, x.kafka_partition) > (p.kafka_topic, p.kafka_partition)
           ORDER BY x.kafka_topic, x.kafka_partition LIMIT 1) n
),
e_tp AS (
    (SELECT kafka_topic, kafka_partition FROM execution.OrderEventsTS
      ORDER BY kafka_topic, kafka_partition LIMIT 1)
    UNION ALL
    SELECT n.kafka_topic, n.kafka_partition
      FROM e_tp p, LATERAL (
          SELECT x.kafka_topic, x.kafka_partition FROM execution.OrderEventsTS x
           WHERE (x.kafka_topic, x.kafka_partition) > (p.kafka_topic, p.kafka_partition)
           ORDER BY x.kafka_topic, x.kafka_partition LIMIT 1) n
),
t_tp AS (
    (SELECT kafka_topic, kafka_partition FROM execution.TradesTS
      ORDER BY kafka_topic, kafka_partition LIMIT 1)
    UNION ALL
    SELECT n.kafka_topic, n.kafka_partition
      FROM t_tp p, LATERAL (
          SELECT x.kafka_topic, x.kafka_partition FROM execution.TradesTS x
           WHERE (x.kafka_topic, x.kafka_partition) > (p.kafka_topic, p.kafka_partition)
           ORDER BY x.kafka_topic, x.kafka_partition LIMIT 1) n
),
newest AS (
    SELECT 'order'::text AS kind, p.kafka_topic, p.kafka_partition, r.*
      FROM o_tp p, LATERAL (
          SELECT x.order_time AS newest_event_time, x.kafka_offset AS newest_offset,
                 x.kafka_timestamp AS newest_kafka_timestamp,
                 x.ingested_at AS newest_ingested_at
            FROM execution.OrdersTS x
           WHERE x.kafka_topic = p.kafka_topic AND x.kafka_partition = p.kafka_partition
           ORDER BY x.order_time DESC LIMIT 1) r
    UNION ALL
    SELECT 'order_event', p.kafka_topic, p.kafka_partition, r.*
      FROM e_tp p, LATERAL (
          SELECT x.event_time, x.kafka_offset, x.kafka_timestamp, x.ingested_at
            FROM execution.OrderEventsTS x
           WHERE x.kafka_topic = p.kafka_topic AND x.kafka_partition = p.kafka_partition
           ORDER BY x.event_time DESC LIMIT 1) r
    UNION ALL
    SELECT 'trade', p.kafka_topic, p.kafka_partition, r.*
      FROM t_tp p, LATERAL (
          SELECT x.trade_time, x.kafka_offset, x.kafka_timestamp, x.ingested_at
            FROM execution.TradesTS x
           WHERE x.kafka_topic = p.kafka_topic AND x.kafka_partition = p.kafka_partition
           ORDER BY x.trade_time DESC LIMIT 1) r
)
SELECT n.kind,
       coalesce(n.kafka_topic, g.topic) AS topic,
       coalesce(n.kafka_partition, g.partition) AS partition,
       g.consumer_group,
       g.next_offset AS stored_offset,
       g.updated_at AS offset_updated_at,
       n.newest_event_time, n.newest_offset, n.newest_kafka_timestamp, n.newest_ingested_at,
       n.newest_ingested_at - n.newest_kafka_timestamp AS ingest_latency
  FROM newest n
  FULL JOIN execution.ingest_offsets g
    ON g.topic = n.kafka_topic AND g.partition = n.kafka_partition;

-- Per kind and source ('kafka', or 'file' for `execrec load` topics 'file:...'):
-- complete_up_to is the earliest of the partitions' newest event times. Every
-- partition has recorded something at least that recent, so with in-order
-- producers a window ending at or before complete_up_to is final:
--   SELECT '2026-11-03 15:00Z' <= complete_up_to FROM execution.ingest_watermarks
--    WHERE kind = 'trade' AND source = 'kafka';
-- Late events can still arrive after it (they are facts and are recorded; derived
-- views account for them). A partition with no rows does not hold it back.
CREATE VIEW execution.ingest_watermarks AS
SELECT kind,
       CASE WHEN topic LIKE 'file:%' THEN 'file' ELSE 'kafka' END AS source,
       count(*) AS partitions,
       min(newest_event_time) AS complete_up_to,
       max(newest_event_time) AS newest_event_time
  FROM (SELECT DISTINCT kind, topic, partition, newest_event_time
          FROM execution.ingest_lag WHERE kind IS NOT NULL) p
 GROUP BY 1, 2;

-- Ingest latency (ingested_at - kafka_timestamp) of the rows whose event time is
-- in [from_time, to_time), per kind and topic-partition; rows without a Kafka
-- timestamp (files) are not counted. Seconds, 6 decimals; percentiles nearest-rank.
CREATE FUNCTION execution.ingest_latency(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (kind text, topic text, partition integer, messages bigint,
               latency_s_mean numeric, latency_s_p50 numeric, latency_s_p95 numeric,
               latency_s_max numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT r.kind, r.kafka_topic, r.kafka_partition, count(*),
       execution.div_round(sum(r.s), count(*), 6),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY r.s),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY r.s),
       max(r.s)
  FROM (SELECT 'order'::text AS kind, kafka_topic, kafka_partition,
               extract(epoch FROM ingested_at - kafka_timestamp) AS s
          FROM execution.OrdersTS
         WHERE order_time >= from_time AND order_time < to_time AND kafka_timestamp IS NOT NULL
        UNION ALL
        SELECT 'order_event', kafka_topic, kafka_partition,
               extract(epoch FROM ingested_at - kafka_timestamp)
          FROM execution.OrderEventsTS
         WHERE event_time >= from_time AND event_time < to_time AND kafka_timestamp IS NOT NULL
        UNION ALL
        SELECT 'trade', kafka_topic, kafka_partition,
               extract(epoch FROM ingested_at - kafka_timestamp)
          FROM execution.TradesTS
         WHERE trade_time >= from_time AND trade_time < to_time AND kafka_timestamp IS NOT NULL) r
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3
$fn$;
