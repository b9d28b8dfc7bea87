"""``python -m genir_mini.training list | train <recipe> --tier cpu [--publish]``."""

from .cli import main

main()
