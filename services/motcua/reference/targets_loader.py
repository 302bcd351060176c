"""Reading a plan targets file (YAML, format in ``domain.targets``). Which file is a
setting (``plan_targets``, default the package's ``reference/data/plan-targets.yaml``);
``bootstrap.plan_targets`` applies it."""

from __future__ import annotations

from pathlib import Path

from ..domain.targets import Target, TargetError, parse_targets


def load_targets(path: str | Path) -> list[Target]:
    """The validated targets of a YAML file; ``TargetError`` lists every problem."""
    import yaml

    p = Path(path)
    with open(p, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise TargetError(f"{p}: not valid YAML: {err}") from None
    return parse_targets(data or [], origin=str(p))
