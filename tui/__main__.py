"""`python -m tui`: the same as the `layerlab` command."""

from tui.main import main

raise SystemExit(main())
