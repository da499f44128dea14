"""Names the spec implies when it does not set them: the release prefix, flag keys, shortened names."""

from __future__ import annotations

import hashlib

from cutover.generator.spec.model import ReleaseSpec


def canary_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.canary.flag_key or f"{path.name}-canary"


def shadow_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.shadow.flag_key or f"{path.name}-shadow"


def name_prefix(spec: ReleaseSpec) -> str:
    return f"{spec.release.name}-{spec.release.environment}"


def short(text: str, limit: int) -> str:
    """Shorten a name to `limit` characters, keeping it unique with a hash suffix."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[: limit - 7]}-{digest}"
