#!/bin/sh
# One-shot job of the `minio-init` service (minio/mc image): create the raw, staging,
# exports and report buckets; the report bucket is readable anonymously (the market report
# is a static site read in a browser). Safe to rerun (existing buckets are kept as they are).
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is required}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is required}"
endpoint="${MINIO_ENDPOINT:-http://minio:9000}"

mc alias set watch "${endpoint}" "${MINIO_ROOT_USER}" "${MINIO_ROOT_PASSWORD}" >/dev/null

for bucket in "${RAW_BUCKET:-watch-raw}" "${STAGING_BUCKET:-watch-staging}" "${EXPORT_BUCKET:-watch-exports}" \
  "${REPORT_BUCKET:-watch-report}"; do
  mc mb --ignore-existing "watch/${bucket}"
done
mc anonymous set download "watch/${REPORT_BUCKET:-watch-report}"

mc ls watch
