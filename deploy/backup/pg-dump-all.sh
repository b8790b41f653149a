#!/usr/bin/env bash
# Dump every Hulei database, each with its own role (no superuser needed), in pg_dump's custom
# format, into $BACKUP_DIR/<UTC timestamp>/<database>.dump; keep the newest $KEEP runs.
#
#   PGHOST=… BACKUP_DIR=… PG_PASSWORD_GATEWAY=… PG_PASSWORD_SCHOOL_LIAISON=… … pg-dump-all.sh
#
# Run by the CronJob pg-backup (deploy/backup/cronjob.yaml) and usable by hand against compose
# (PGHOST=127.0.0.1 after publishing the port). Restore: pg-restore.sh, docs/operations.md.
set -euo pipefail
: "${PGHOST:?}" "${BACKUP_DIR:?}"
DATABASES="${DATABASES:-gateway school_liaison case_tracking patrol notifications}"
KEEP="${KEEP:-14}"
run="$BACKUP_DIR/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run.partial"
for db in $DATABASES; do
  var="PG_PASSWORD_${db^^}"
  PGPASSWORD="${!var:?$var is not set}" pg_dump --format=custom --no-owner \
    --host="$PGHOST" --port="${PGPORT:-5432}" --username="$db" --dbname="$db" \
    --file="$run.partial/$db.dump"
  echo "dumped $db"
done
# Complete runs only: a run that failed half-way is never mistaken for a backup.
mv "$run.partial" "$run"
ls -1d "$BACKUP_DIR"/*Z 2>/dev/null | sort | head -n "-$KEEP" | xargs -r rm -rf
echo "backup $run complete"
