"""Run a snippet with the real `braintrust` SDK in a fresh process pointed at the fake (the SDK keeps global
login and logger state, so each scenario gets its own interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

from tests.fake_braintrust.server import FakeBraintrust


def run_sdk(fake: FakeBraintrust, code: str, timeout: float = 60.0) -> Any:
    """Run `code` (with `braintrust` imported) and return the JSON the snippet assigned to `result`."""
    script = "import braintrust, json\n" + textwrap.dedent(code) + "\nprint('\\n' + json.dumps(globals().get('result')))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINTRUST_")}
    env.update(fake.env())
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"SDK snippet failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
