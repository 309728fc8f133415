#!/usr/bin/env bash
# gpuhub stop hook: remove the rental's container and its key file (nothing else is kept).
set -euo pipefail

docker rm --force "gpuhub-rental-${GPUHUB_RENTAL_ID:?}" >/dev/null 2>&1 || true
rm -rf "/var/lib/gpuhub/rentals/${GPUHUB_RENTAL_ID}"
