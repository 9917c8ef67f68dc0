"""`python -m layerlab` is the `layerlab` command."""

from layerlab.tui.main import main

if __name__ == "__main__":
    raise SystemExit(main())
