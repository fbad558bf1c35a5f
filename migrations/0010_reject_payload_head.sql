-- 0010_reject_payload_head.sql: a reject keeps the head of its payload, with the
-- whole payload's length and SHA-256; and execution.delete_rejects, the retention
-- of ingest_rejects (used by `execrec partitions --retention`).
--
-- Until now a reject stored the whole payload, twice when it was text (payload and
-- payload_text): a 3 MB message_too_large reject took 6 MB, and a flood of them
-- filled the recorder's memory and the disk. From this version the writer stores at
-- most reject.payload.max bytes (default 64 KiB) of the payload, in payload (and,
-- when those bytes are valid UTF-8 without NUL, in payload_text), and:
--   payload_length  the length of the WHOLE payload as received, in bytes;
--   payload_sha256  the SHA-256 of the WHOLE payload (32 bytes), so that a stored
--                   head can be matched with the producer's message.
-- payload is the whole message exactly when octet_length(payload) = payload_length.
-- Existing rows stored their whole payload: their length and digest are computed
-- here. Both columns stay nullable, so that a recorder of the previous version
-- still running during an upgrade can insert (it leaves them NULL).
ALTER TABLE execution.ingest_rejects
    ADD COLUMN payload_length bigint,
    ADD COLUMN payload_sha256 bytea;

UPDATE execution.ingest_rejects
SET payload_length = octet_length(payload), payload_sha256 = sha256(payload)
WHERE payload IS NOT NULL;

COMMENT ON COLUMN execution.ingest_rejects.payload IS
    'the first bytes of the message value as received: at most reject.payload.max '
    '(the whole value when octet_length(payload) = payload_length)';
COMMENT ON COLUMN execution.ingest_rejects.payload_length IS
    'length in bytes of the whole message value as received';
COMMENT ON COLUMN execution.ingest_rejects.payload_sha256 IS
    'SHA-256 of the whole message value as received';

-- Retention. ingest_rejects is not partitioned by time like the fact tables: its
-- unique key (kafka_topic, kafka_partition, kafka_offset) is what keeps a replay
-- from recording a reject twice, and a unique key of a partitioned table must
-- contain the partition key (recorded_at), which would make every replay a new
-- row. Old rejects are deleted instead, at most max_rows per call (oldest first,
-- by the recorded_at index), so that the caller commits in small transactions and
-- never holds many row locks or a long transaction. Returns the rows deleted.
CREATE FUNCTION execution.delete_rejects(recorded_before timestamptz, max_rows integer)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH d AS (
        DELETE FROM execution.ingest_rejects
        WHERE id IN (SELECT id FROM execution.ingest_rejects
                     WHERE recorded_at < recorded_before
                     ORDER BY recorded_at LIMIT max_rows)
        RETURNING 1)
    SELECT count(*) FROM d
$fn$;

COMMENT ON FUNCTION execution.delete_rejects(timestamptz, integer) IS
    'Deletes at most max_rows rejects recorded before recorded_before, oldest first; '
    'returns how many. Call it until it returns 0 (execrec partitions --retention).';
