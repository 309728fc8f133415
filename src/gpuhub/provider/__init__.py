"""The provider side of gpuhub (extra ``gpuhub-eth[provider]``): find this machine's NVIDIA
GPUs, check it can serve rentals, and list and serve them.

    >>> from gpuhub.provider import detect_gpus, self_test
    >>> [gpu.name for gpu in detect_gpus()]
    ['NVIDIA H100 80GB HBM3']
    >>> [c.name for c in self_test(start_hook="./start.sh") if not c.ok]
    []
"""

from __future__ import annotations

from ._agent import AgentConfig, ProviderAgent
from ._checks import Check, self_test
from ._detect import GPU, MigDevice, detect_gpus, parse_nvidia_smi_xml
from ._publish import Published, Terms, publish
from ._state import AgentState, RentalRecord, StateMismatch

__all__ = [
    "GPU",
    "AgentConfig",
    "AgentState",
    "Check",
    "MigDevice",
    "ProviderAgent",
    "Published",
    "RentalRecord",
    "StateMismatch",
    "Terms",
    "detect_gpus",
    "parse_nvidia_smi_xml",
    "publish",
    "self_test",
]
