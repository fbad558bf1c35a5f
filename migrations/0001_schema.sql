-- 0001_schema.sql: the execution schema -- the three time-series fact tables, the
-- OrderManager intent table, consumer offsets and rejects.
--
-- Applied by `execrec migrate` inside one transaction (do not add BEGIN/COMMIT);
-- never edit this file once released: its sha256 is recorded in
-- execution.schema_migrations and an edited file is refused. Add a new file instead.
--
-- Column names and order follow src/record.c's column tables exactly (test_migrate
-- checks it); identifiers are unquoted, so `execution.TradesTS` works as written.
-- Types: text/enum -> text, decimal -> numeric without typmod (never rounds),
-- time -> timestamptz, int64 -> bigint.
--
-- Check constraints are deliberately few. Each one duplicates a rule the normaliser
-- already enforces, so a PostgreSQL refusal here signals a normaliser bug (the
-- writer records it as a pg_refused reject) rather than a second policy:
--   * quantity > 0 on OrdersTS and TradesTS;
--   * kafka_partition >= 0 and kafka_offset >= 0 (set by the writer, not by users).
-- Deliberately NOT constrained: prices and fees (negative prices and fee rebates
-- exist), enumerations such as side (unknown values are kept, DESIGN.md), text
-- lengths (EXECREC_TEXT_MAX is the normaliser's job).

CREATE SCHEMA IF NOT EXISTS execution;

-- Orders as submitted. Natural key (order_id, order_time): a re-delivered order is
-- the same fact; the partition key must be part of every unique key.
CREATE TABLE execution.OrdersTS (
    order_id          text        NOT NULL,
    account_uid       text        NOT NULL,
    asset             text        NOT NULL,
    side              text        NOT NULL,
    quantity          numeric     NOT NULL,
    order_time        timestamptz NOT NULL,
    client_order_id   text,
    order_manager_uid text,
    strategy          text,
    venue             text,
    order_type        text,
    time_in_force     text,
    limit_price       numeric,
    stop_price        numeric,
    reference_price   numeric,
    currency          text,
    status            text,
    raw_payload       jsonb       NOT NULL,
    kafka_topic       text        NOT NULL,
    kafka_partition   int         NOT NULL,
    kafka_offset      bigint      NOT NULL,
    kafka_timestamp   timestamptz,
    kafka_key         text,
    ingested_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ordersts_natural_key UNIQUE (order_id, order_time),
    CONSTRAINT ordersts_quantity_positive CHECK (quantity > 0),
    CONSTRAINT ordersts_kafka_position CHECK (kafka_partition >= 0 AND kafka_offset >= 0)
) PARTITION BY RANGE (order_time);

-- Order status events. event_key is derived by the normaliser (event_id, or the
-- fields that tell two events of one order apart), so re-delivery de-duplicates.
CREATE TABLE execution.OrderEventsTS (
    order_id           text        NOT NULL,
    event_type         text        NOT NULL,
    event_time         timestamptz NOT NULL,
    event_id           text,
    sequence           bigint,
    filled_quantity    numeric,
    remaining_quantity numeric,
    avg_fill_price     numeric,
    reject_code        text,
    reject_reason      text,
    policy             text,
    venue_event_id     text,
    event_key          text        NOT NULL,
    raw_payload        jsonb       NOT NULL,
    kafka_topic        text        NOT NULL,
    kafka_partition    int         NOT NULL,
    kafka_offset       bigint      NOT NULL,
    kafka_timestamp    timestamptz,
    kafka_key          text,
    ingested_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ordereventsts_natural_key UNIQUE (order_id, event_key, event_time),
    CONSTRAINT ordereventsts_kafka_position CHECK (kafka_partition >= 0 AND kafka_offset >= 0)
) PARTITION BY RANGE (event_time);

-- Fills. Natural key (trade_id, trade_time).
CREATE TABLE execution.TradesTS (
    trade_id        text        NOT NULL,
    order_id        text        NOT NULL,
    quantity        numeric     NOT NULL,
    price           numeric     NOT NULL,
    trade_time      timestamptz NOT NULL,
    account_uid     text,
    asset           text,
    side            text,
    fee             numeric,
    fee_currency    text,
    liquidity       text,
    venue           text,
    raw_payload     jsonb       NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition int         NOT NULL,
    kafka_offset    bigint      NOT NULL,
    kafka_timestamp timestamptz,
    kafka_key       text,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tradests_natural_key UNIQUE (trade_id, trade_time),
    CONSTRAINT tradests_quantity_positive CHECK (quantity > 0),
    CONSTRAINT tradests_kafka_position CHECK (kafka_partition >= 0 AND kafka_offset >= 0)
) PARTITION BY RANGE (trade_time);

-- DEFAULT partitions: a row whose month has no partition yet is stored, never
-- refused. execution.ensure_partitions (0002) moves such rows into the month's
-- partition when it creates it.
CREATE TABLE execution.OrdersTS_default PARTITION OF execution.OrdersTS DEFAULT;
CREATE TABLE execution.OrderEventsTS_default PARTITION OF execution.OrderEventsTS DEFAULT;
CREATE TABLE execution.TradesTS_default PARTITION OF execution.TradesTS DEFAULT;

-- Indexes (declared on the parent, so every partition gets them).
-- Time: btree rather than BRIN. BRIN would be smaller, but backfills and late
-- events break the physical order BRIN relies on, and btree also serves
-- "latest N" (ORDER BY time DESC LIMIT n), which BRIN cannot. Partition pruning
-- already narrows a range query to its months.
-- order_id: OrdersTS and OrderEventsTS need no separate index, their natural key
-- starts with order_id.
CREATE INDEX ordersts_order_time_idx ON execution.OrdersTS (order_time);
CREATE INDEX ordersts_account_time_idx ON execution.OrdersTS (account_uid, order_time);
CREATE INDEX ordersts_asset_time_idx ON execution.OrdersTS (asset, order_time);
-- "which manager emitted this order": join to OrderManager.unique_identifier.
CREATE INDEX ordersts_order_manager_idx ON execution.OrdersTS (order_manager_uid)
    WHERE order_manager_uid IS NOT NULL;

CREATE INDEX ordereventsts_event_time_idx ON execution.OrderEventsTS (event_time);

CREATE INDEX tradests_trade_time_idx ON execution.TradesTS (trade_time);
CREATE INDEX tradests_order_id_idx ON execution.TradesTS (order_id);
CREATE INDEX tradests_account_time_idx ON execution.TradesTS (account_uid, trade_time);
CREATE INDEX tradests_asset_time_idx ON execution.TradesTS (asset, trade_time);

-- Order-manager intents: one row per unique_identifier, the newest version wins.
-- as_of is the version: the message's updated_at, else the Kafka timestamp, else
-- -infinity (then the later offset wins). The writer upserts "only when newer", so a replay or a
-- late message never regresses the row:
--
--   INSERT INTO execution.OrderManager AS m (unique_identifier, ..., as_of,
--          raw_payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp,
--          kafka_key)
--   VALUES (...)
--   ON CONFLICT (unique_identifier) DO UPDATE
--      SET target_account_uid = excluded.target_account_uid, ...,
--          as_of = excluded.as_of, raw_payload = excluded.raw_payload,
--          kafka_topic = excluded.kafka_topic, ..., ingested_at = now()
--          -- first_seen_at is never updated
--    WHERE (excluded.as_of, excluded.kafka_offset) > (m.as_of, m.kafka_offset);
--
-- The kafka_offset tie-break is meaningful because an identifier's messages share a
-- message key and hence a partition; the same message replayed is not "newer".
CREATE TABLE execution.OrderManager (
    unique_identifier  text        NOT NULL,
    target_account_uid text        NOT NULL,
    target_time        timestamptz NOT NULL,
    status             text        NOT NULL,
    strategy           text,
    created_at         timestamptz,
    updated_at         timestamptz,
    as_of              timestamptz NOT NULL,
    raw_payload        jsonb       NOT NULL,
    kafka_topic        text        NOT NULL,
    kafka_partition    int         NOT NULL,
    kafka_offset       bigint      NOT NULL,
    kafka_timestamp    timestamptz,
    kafka_key          text,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    ingested_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ordermanager_pkey PRIMARY KEY (unique_identifier),
    CONSTRAINT ordermanager_kafka_position CHECK (kafka_partition >= 0 AND kafka_offset >= 0)
);
CREATE INDEX ordermanager_account_time_idx
    ON execution.OrderManager (target_account_uid, target_time);

-- Consumer position per (group, topic, partition): the next offset to read. Written
-- in the same transaction as the batch's rows, as a compare-and-set (fencing).
CREATE TABLE execution.ingest_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      int         NOT NULL,
    next_offset    bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ingest_offsets_pkey PRIMARY KEY (consumer_group, topic, partition),
    CONSTRAINT ingest_offsets_valid CHECK (partition >= 0 AND next_offset >= 0)
);

-- Messages that did not become a row. reason is a stable code (EXECREC_REJ_* in
-- record.h); message is the human detail. The Kafka coordinates are named like the
-- fact tables' (kafka_offset needs no quoting, unlike "offset"). Unique per
-- coordinate, so a replay (ON CONFLICT DO NOTHING) does not duplicate a reject.
-- payload keeps the exact bytes; payload_text is filled only when they are valid
-- UTF-8 without NUL, for reading in psql.
CREATE TABLE execution.ingest_rejects (
    id              bigserial   PRIMARY KEY,
    kafka_topic     text        NOT NULL,
    kafka_partition int         NOT NULL,
    kafka_offset    bigint      NOT NULL,
    kafka_timestamp timestamptz,
    kafka_key       bytea,
    payload         bytea,
    payload_text    text,
    reason          text        NOT NULL,
    message         text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ingest_rejects_position_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);
CREATE INDEX ingest_rejects_recorded_at_idx ON execution.ingest_rejects (recorded_at);
