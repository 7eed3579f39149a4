"""`python -m ownermap`."""

from ownermap.cli import main

main()
