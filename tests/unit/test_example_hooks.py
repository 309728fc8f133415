"""The example hooks in docs/hooks: they parse, and do what the docs say with the rental's data."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "docs" / "hooks"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"


def rental_env(rental_id: int, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "GPUHUB_EVENT": "start",
        "GPUHUB_RENTAL_ID": str(rental_id),
        "GPUHUB_GPU_UUID": "GPU-3b5e7d1a-92c4-4f0e-8a61-d2c9b7e40f13",
        "GPUHUB_SSH_KEY": SSH_KEY,
        "GPUHUB_PUBLIC_HOST": "gpu.example.net",
        **more,
    }


@pytest.mark.parametrize("hook", sorted(p.name for p in HOOKS.glob("*.sh")))
def test_hooks_parse(hook: str) -> None:
    """Every example hook is valid bash and executable."""
    subprocess.run(["bash", "-n", str(HOOKS / hook)], check=True)
    assert os.access(HOOKS / hook, os.X_OK)


def test_docker_start_hook(tmp_path: Path) -> None:
    """The Docker start hook runs the rental's GPU only, publishes sshd, prints ssh -p PORT."""
    calls = tmp_path / "docker-calls"
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    # Stands in for the Docker CLI: records its arguments, answers `docker port` as Docker does.
    docker.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n'
        'if [ "$1" = port ]; then echo 0.0.0.0:49153; echo [::]:49153; fi\n'
    )
    docker.chmod(0o755)
    env = rental_env(7, PATH=f"{docker.parent}{os.pathsep}{os.environ['PATH']}", HOME=str(tmp_path))
    keys = Path("/var/lib/gpuhub/rentals/7")
    if not os.access("/var/lib", os.W_OK):
        pytest.skip("the hook keeps key files under /var/lib/gpuhub: run as root")
    try:
        done = subprocess.run(
            [str(HOOKS / "docker-start.sh")], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout == "ssh -p 49153 root@gpu.example.net\n"
        run = next(line for line in calls.read_text().splitlines() if line.startswith("run"))
        assert "--gpus device=GPU-3b5e7d1a-92c4-4f0e-8a61-d2c9b7e40f13" in run
        assert (keys / "authorized_keys").read_text() == SSH_KEY + "\n"
    finally:
        subprocess.run([str(HOOKS / "docker-stop.sh")], env=env, check=True)
    assert not keys.exists()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None, reason="creates a user: needs root"
)
def test_local_user_hooks() -> None:
    """The local-user hooks create an account that takes the renter's key, then remove it."""
    rental_id = 900_000 + os.getpid() % 99_999
    env = rental_env(rental_id)
    user = f"gpuhub-r{rental_id}"
    try:
        done = subprocess.run(
            [str(HOOKS / "user-start.sh")], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout == f"ssh {user}@gpu.example.net\n"
        home = Path(pwd.getpwnam(user).pw_dir)
        assert (home / ".ssh" / "authorized_keys").read_text() == SSH_KEY + "\n"
        subprocess.run([str(HOOKS / "user-start.sh")], env=env, check=True, capture_output=True)
    finally:
        subprocess.run([str(HOOKS / "user-stop.sh")], env=env, check=True)
    with pytest.raises(KeyError):
        pwd.getpwnam(user)
