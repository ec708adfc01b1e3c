"""``python -m minigrad``: the same command as ``minigrad``."""

from minigrad.cli import main

main()
