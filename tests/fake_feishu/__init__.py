"""A fake Feishu Open API on loopback, for tests and benchmarks (see ``server``)."""

from .model import ApiError, FakeSpreadsheet
from .server import DROP, LOST, Failure, FakeFeishu, start_fake_feishu

__all__ = ["ApiError", "DROP", "LOST", "Failure", "FakeFeishu", "FakeSpreadsheet", "start_fake_feishu"]
