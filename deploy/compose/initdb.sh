#!/bin/bash
# Run once by the postgres image on an empty data directory
# (/docker-entrypoint-initdb.d): the database and three login roles.
#   execrec_owner     owns the database and the schema: runs `execrec migrate`
#                     and `execrec partitions` (CREATEROLE: migrate creates the
#                     group roles execrec_writer and execrec_reader)
#   execrec_recorder  `execrec run`; member of execrec_writer (compose/grants.sql)
#   execrec_grafana   the dashboards; member of execrec_reader
set -euo pipefail
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_pw="$EXECREC_OWNER_PASSWORD" -v recorder_pw="$EXECREC_RECORDER_PASSWORD" \
     -v grafana_pw="$EXECREC_GRAFANA_PASSWORD" <<'SQL'
CREATE ROLE execrec_owner LOGIN CREATEROLE PASSWORD :'owner_pw';
CREATE ROLE execrec_recorder LOGIN PASSWORD :'recorder_pw';
CREATE ROLE execrec_grafana LOGIN PASSWORD :'grafana_pw';
CREATE DATABASE execrec OWNER execrec_owner;
SQL
