"""Scenario files: YAML holding the same rules as the control plane, applied at start and on reset.

```yaml
keys:
  sk_ci_poor: {credits: 20, qps: 2}
  sk_ci_busy: {queue_capacity: 1}
faults:
  - {operation: nuroCreate, error: nuro.queue_full, times: 2}
  - {operation: nuroGetTask, error: nuro.api_error, probability: 0.1}
```

The file is validated against the ``Scenario`` schema of ``openapi/mock-control.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mockserver.engine.accounts import configure_key
from mockserver.engine.context import Context
from mockserver.errors import ConfigError, MockError
from mockserver.spec import ApiSpec, SchemaValidator

#: YAML aliases a scenario file may use (each can expand to a copy of a whole node).
MAX_ALIASES = 50


def load_file(spec: ApiSpec, path: str) -> dict[str, Any]:
    """Read and validate a scenario file (ConfigError with the reason when it is unusable)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
        if aliases > MAX_ALIASES:  # a few aliases are fine; thousands are a "billion laughs" file
            raise ConfigError(f"scenario file {path}: {aliases} YAML aliases (at most {MAX_ALIASES})")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"scenario file {path}: {exc}") from None
    validator = SchemaValidator(spec.schema("mock-control", "Scenario"))
    violations = validator.violations(data)
    if violations:
        raise ConfigError(f"scenario file {path}: " + "; ".join(map(str, violations)))
    loaded: dict[str, Any] = data
    return loaded


def apply_file(ctx: Context, spec: ApiSpec, path: str) -> None:
    """Apply a scenario file's keys and fault rules."""
    data = load_file(spec, path)
    try:
        for api_key, settings in (data.get("keys") or {}).items():
            configure_key(ctx, api_key, settings)
        for rule in data.get("faults") or []:
            ctx.faults.add(
                rule["operation"],
                rule["error"],
                times=rule.get("times"),
                probability=rule.get("probability"),
                api_key=rule.get("api_key"),
                at_progress=rule.get("at_progress"),
            )
    except MockError as exc:
        raise ConfigError(f"scenario file {path}: {exc.message}") from None
