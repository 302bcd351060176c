"""python -m motcua.dashboards [OUT_DIR]: regenerate the provisioning JSON."""

import sys
from pathlib import Path

from .build import OUT_DIR, generate

for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
    print(p)
