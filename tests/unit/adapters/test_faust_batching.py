"""Every private Faust / aiokafka name the batching transport uses still exists in the
pinned versions (an upgrade that moves one fails here, not in the live pipeline)."""

from __future__ import annotations

import importlib
import inspect
import io
import re
import tokenize
from importlib import metadata
from pathlib import Path

import pytest

from motcua.adapters import faust_batching
from motcua.adapters.faust_batching import PRIVATE_NAMES

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("owner,attr,use", PRIVATE_NAMES, ids=[f"{o}.{a}" for o, a, _u in PRIVATE_NAMES])
def test_each_private_name_exists_in_the_pinned_version(owner, attr, use):
    cls = resolve(owner)
    # a method or class attribute, or an instance attribute its class sets
    assert hasattr(cls, attr) or re.search(rf"self\.{re.escape(attr)}\b", inspect.getsource(cls)), (
        f"{owner}.{attr} ({use}) is gone"
    )


def test_the_list_names_every_private_name_the_module_touches():
    """Every underscore name in the code (not in comments or strings) is listed or ours."""
    source = Path(faust_batching.__file__).read_text()
    names = {
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.NAME and re.fullmatch(r"_[a-z][a-z_]*", tok.string)
    }
    # our own attributes, and the codec hooks Faust's Codec base class defines for subclasses
    ours = {
        "_seeks",
        "_partitions",
        "_partition_of",
        "_holes",
        "_reread_hole",
        "_seek_on_thread",
        "_dumps",
        "_loads",
    }
    listed = {attr for _o, attr, _u in PRIVATE_NAMES}
    assert names - ours == listed


def test_the_versions_are_the_pinned_ones():
    text = PYPROJECT.read_text()
    for dist in ("faust-streaming", "aiokafka"):
        pinned = re.search(rf'"{dist}==([^"]+)"', text).group(1)
        assert metadata.version(dist) == pinned
