"""Hypothesis profiles for the whole test tree.

- ``default``: Hypothesis's own defaults; what ``make test`` and CI run. A test's
  ``@settings(max_examples=N)`` stands as written.
- ``dev``: the fast lane (``make quick``, or ``pytest --hypothesis-profile=dev``): every
  property test runs at most ``DEV_EXAMPLES`` examples, no deadline. An explicit
  ``@settings(max_examples=N)`` would otherwise win over any profile, so the hook below
  lowers it under this profile only.
"""

from __future__ import annotations

from hypothesis import settings

DEV_EXAMPLES = 10

settings.register_profile("dev", max_examples=DEV_EXAMPLES, deadline=None)


def pytest_collection_modifyitems(items):
    if settings.get_current_profile_name() != "dev":
        return
    for item in items:
        test = getattr(item, "obj", None)
        if getattr(test, "hypothesis", None) is None:  # not a @given test
            continue
        # Hypothesis keeps a test's own @settings here and reads them when the test runs.
        own = test._hypothesis_internal_use_settings
        if own.max_examples > DEV_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(own, max_examples=DEV_EXAMPLES)
