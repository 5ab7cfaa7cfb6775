from tests.train.conftest import tiny_data  # noqa: F401  (the shrunk synthetic set, shared)
