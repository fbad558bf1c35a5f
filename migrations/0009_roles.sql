-- 0009_roles.sql: execution.grant_roles(), the privileges of the two NOLOGIN group
-- roles of docs/roles.md:
--
--   execrec_writer  what `execrec run`, `backfill` and `load` need: INSERT the facts
--                   and rejects, upsert OrderManager, read and compare-and-set
--                   ingest_offsets, read schema_migrations (the version check).
--                   Never DDL, never DELETE, never SELECT on the facts.
--   execrec_reader  USAGE on the schema, SELECT on every table and view (partitions
--                   included), EXECUTE on every function but the maintenance ones.
--
-- The owner of the schema (the role that runs `execrec migrate` and `execrec
-- partitions`) keeps everything else. Maintenance functions (ensure_partitions,
-- apply_partitions, grant_roles) are the owner's only: EXECUTE is revoked from
-- PUBLIC, so a reader listing the functions it may call finds only queries.
--
-- `execrec migrate` calls grant_roles() after the files, every time, once the two
-- roles exist (it creates them when the connected role may: SUPERUSER or
-- CREATEROLE; otherwise it prints the SQL for an administrator). The roles are not
-- created here: a file that needs CREATEROLE would stop every migration of a
-- database whose owner lacks it.
--
-- grant_roles() first revokes what the two roles hold in the schema, then grants,
-- in one transaction: the result is exactly the list below whatever was granted
-- before. Objects created later by the schema's owner (or by the role calling
-- grant_roles) get SELECT / EXECUTE for the reader by default privileges: new
-- views, functions and the monthly partitions of `execrec partitions`. A later
-- migration that adds a table the writer must write, or a maintenance function,
-- replaces this function (CREATE OR REPLACE) with the new list.
CREATE FUNCTION execution.grant_roles()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    owner_role name;
    r          name;
    f          regprocedure;
BEGIN
    IF to_regrole('execrec_writer') IS NULL OR to_regrole('execrec_reader') IS NULL THEN
        RAISE EXCEPTION 'execution.grant_roles: the roles execrec_writer and execrec_reader must exist'
            USING ERRCODE = 'undefined_object',
                  HINT = 'CREATE ROLE execrec_writer NOLOGIN; CREATE ROLE execrec_reader NOLOGIN; '
                         '(as a superuser), or run execrec migrate as a role with CREATEROLE';
    END IF;
    SELECT nspowner::regrole::name INTO owner_role FROM pg_namespace WHERE nspname = 'execution';

    REVOKE ALL ON ALL TABLES IN SCHEMA execution FROM execrec_writer, execrec_reader;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA execution FROM execrec_writer, execrec_reader;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA execution FROM execrec_writer, execrec_reader;
    GRANT USAGE ON SCHEMA execution TO execrec_writer, execrec_reader;

    -- Reader: every table (partitions included) and view; every function.
    GRANT SELECT ON ALL TABLES IN SCHEMA execution TO execrec_reader;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA execution TO execrec_reader;

    -- Writer. COPY and INSERT go through the partitioned parents, which route rows
    -- into the partitions without checking the partitions' own privileges. The
    -- OrderManager upsert (ON CONFLICT DO UPDATE ... WHERE newer) reads the stored
    -- row; the offsets are read at assignment and compare-and-set by UPDATE.
    GRANT INSERT ON execution.OrdersTS, execution.OrderEventsTS, execution.TradesTS,
                    execution.ingest_rejects TO execrec_writer;
    GRANT SELECT, INSERT, UPDATE ON execution.OrderManager, execution.ingest_offsets
        TO execrec_writer;
    GRANT USAGE ON SEQUENCE execution.ingest_rejects_id_seq TO execrec_writer;
    -- The rejects' INSERT returns the reason of each row it wrote (the metrics count
    -- rejects by reason), and RETURNING needs SELECT on what it returns: that column
    -- only, so a writer still cannot read payloads back.
    GRANT SELECT (reason) ON execution.ingest_rejects TO execrec_writer;
    GRANT SELECT ON execution.schema_migrations TO execrec_writer;

    -- Maintenance is the owner's: not PUBLIC's, not the reader's. By name, so that a
    -- maintenance function of a later migration (delete_rejects, 0010: the rejects'
    -- retention) is covered once it exists.
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace = 'execution'::regnamespace
                AND p.proname IN ('ensure_partitions', 'apply_partitions', 'grant_roles',
                                  'delete_rejects') LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, execrec_writer, '
                       'execrec_reader', f);
    END LOOP;

    -- Objects created later: by the schema's owner and by whoever runs this.
    FOREACH r IN ARRAY ARRAY[owner_role, current_user]::name[] LOOP
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA execution '
                       'GRANT SELECT ON TABLES TO execrec_reader', r);
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA execution '
                       'GRANT EXECUTE ON FUNCTIONS TO execrec_reader', r);
    END LOOP;

    -- The writer stages refused rows in temporary tables; PUBLIC has TEMPORARY on a
    -- database unless an administrator revoked it (only the database's owner may
    -- grant it back).
    IF NOT (has_database_privilege('execrec_writer', current_database(), 'CONNECT')
            AND has_database_privilege('execrec_writer', current_database(), 'TEMPORARY')) THEN
        RAISE WARNING 'execrec_writer lacks CONNECT or TEMPORARY on database %', current_database()
            USING HINT = format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO execrec_writer; '
                                '(as the database owner)', current_database());
    END IF;
    IF NOT has_database_privilege('execrec_reader', current_database(), 'CONNECT') THEN
        RAISE WARNING 'execrec_reader lacks CONNECT on database %', current_database()
            USING HINT = format('GRANT CONNECT ON DATABASE %I TO execrec_reader; '
                                '(as the database owner)', current_database());
    END IF;
END
$fn$;

COMMENT ON FUNCTION execution.grant_roles() IS
    'Gives execrec_writer and execrec_reader exactly their privileges on schema execution '
    '(docs/roles.md); called by execrec migrate. The two roles must exist.';
