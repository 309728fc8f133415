#!/usr/bin/env bash
# gpuhub stop hook: end the rental user's processes and remove the account with its home.
set -euo pipefail

user="gpuhub-r${GPUHUB_RENTAL_ID:?}"
if id "$user" >/dev/null 2>&1; then
    pkill --signal KILL --uid "$user" || true
    userdel --remove "$user" 2>/dev/null || userdel "$user"
fi
