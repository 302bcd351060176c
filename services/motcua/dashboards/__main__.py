"""python -m motcua.dashboards [OUT_DIR]: regenerate the provisioning JSON (default: the
setting ``dashboards_dir``, $MOTCUA_DASHBOARDS_DIR, else ./dashboards)."""

import sys
from pathlib import Path

from ..settings import get_settings
from .build import generate

for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else get_settings().dashboards_dir):
    print(p)
