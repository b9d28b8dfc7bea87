"""``python -m genir_mini.training list | train <recipe> --tier cpu [--publish]``."""

from .recipes import main

main()
