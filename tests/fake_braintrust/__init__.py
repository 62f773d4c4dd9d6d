"""A fake Braintrust API server for tests (loopback HTTP, the SDK's wire formats, injectable faults)."""

from tests.fake_braintrust.server import FAKE_BT_KEY, FakeBraintrust, fake_bt, fake_bt_env

__all__ = ["FAKE_BT_KEY", "FakeBraintrust", "fake_bt", "fake_bt_env"]
