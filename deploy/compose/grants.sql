-- deploy/compose.yaml's grants service, after `execrec migrate` created the
-- group roles: the login roles of deploy/compose/initdb.sh join them
-- (docs/roles.md). Granting twice is harmless.
GRANT execrec_writer TO execrec_recorder;
GRANT execrec_reader TO execrec_grafana;
