from tests.integration.dashboards.conftest import loaded_store  # noqa: F401  (shared session fixture)
