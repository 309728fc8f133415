#!/usr/bin/env bash
# gpuhub start hook: one Docker container per rental, on the rented GPU only, running sshd on a
# port Docker picks, that accepts the renter's SSH key and nothing else. Prints how to connect.
#
# Needs: Docker with the NVIDIA Container Toolkit, an image with sshd (the Dockerfile on the
# "Share a GPU" page), and GPUHUB_PUBLIC_HOST set to the address renters reach this machine at.
# Runs again on a retry: it replaces whatever an earlier attempt left.
set -euo pipefail

image="${GPUHUB_IMAGE:-gpuhub-sshd:cuda12}"
host="${GPUHUB_PUBLIC_HOST:?set GPUHUB_PUBLIC_HOST to the address renters connect to}"
name="gpuhub-rental-${GPUHUB_RENTAL_ID:?}"
keys="/var/lib/gpuhub/rentals/${GPUHUB_RENTAL_ID}"

if [ -z "${GPUHUB_SSH_KEY:-}" ]; then
    echo "the access request carries no SSH key: nothing to let the renter in with" >&2
    exit 2
fi

docker rm --force "$name" >/dev/null 2>&1 || true
install -d -m 700 "$keys"
printf '%s\n' "$GPUHUB_SSH_KEY" >"$keys/authorized_keys"
chmod 600 "$keys/authorized_keys"

# --gpus device=UUID: this rental's GPU and no other; -p 22: a free host port for sshd.
docker run --detach --name "$name" \
    --gpus "device=${GPUHUB_GPU_UUID:?}" \
    --label "gpuhub.rental=${GPUHUB_RENTAL_ID}" \
    --volume "$keys/authorized_keys:/root/.ssh/authorized_keys:ro" \
    --publish 22 \
    "$image" >/dev/null

# Docker prints one line per address family (0.0.0.0:49153, [::]:49153): keep the first line,
# without a pipe (head would close it early, and pipefail would fail the hook).
port="$(docker port "$name" 22/tcp)"
port="${port%%$'\n'*}"
port="${port##*:}"
echo "ssh -p ${port} root@${host}"
