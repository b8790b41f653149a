#!/usr/bin/env bash
# Restore one Hulei database from a dump of pg-dump-all.sh, replacing what it holds now.
#
#   PGHOST=… PG_PASSWORD_<DB>=… pg-restore.sh <run directory> <database>
#
# Stop the process that owns the database first (scale its Deployment to 0, or
# `docker compose stop <service>`), so nothing writes during the restore; docs/operations.md.
set -euo pipefail
run="${1:?usage: pg-restore.sh <run directory> <database>}"
db="${2:?usage: pg-restore.sh <run directory> <database>}"
var="PG_PASSWORD_${db^^}"
PGPASSWORD="${!var:?$var is not set}" pg_restore --clean --if-exists --no-owner \
  --exit-on-error --single-transaction \
  --host="${PGHOST:?}" --port="${PGPORT:-5432}" --username="$db" --dbname="$db" \
  "$run/$db.dump"
echo "restored $db from $run"
