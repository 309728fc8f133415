#!/usr/bin/env bash
# gpuhub start hook: a local user account per rental that logs in with the renter's SSH key.
# Lighter than a container, but not isolation: the renter shares this machine's kernel, files
# and other GPUs (CUDA_VISIBLE_DEVICES only steers CUDA). Use it on a machine that serves one
# renter at a time and holds nothing else of value. Runs as root; safe to run again.
set -euo pipefail

host="${GPUHUB_PUBLIC_HOST:?set GPUHUB_PUBLIC_HOST to the address renters connect to}"
user="gpuhub-r${GPUHUB_RENTAL_ID:?}"

if [ -z "${GPUHUB_SSH_KEY:-}" ]; then
    echo "the access request carries no SSH key: nothing to let the renter in with" >&2
    exit 2
fi

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
printf '%s\n' "$GPUHUB_SSH_KEY" >"$home/.ssh/authorized_keys"
chown "$user:$user" "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
printf 'export CUDA_VISIBLE_DEVICES=%s\n' "${GPUHUB_GPU_UUID:?}" >"$home/.gpuhub-gpu"
grep -q gpuhub-gpu "$home/.profile" 2>/dev/null || echo '. "$HOME/.gpuhub-gpu"' >>"$home/.profile"
echo "ssh ${user}@${host}"
