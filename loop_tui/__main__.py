"""Allow `python -m loop_tui`."""

from loop_tui.cli.main import main

raise SystemExit(main())
