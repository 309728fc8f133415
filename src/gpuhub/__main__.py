"""``python -m gpuhub``: the gpuhub command line."""

from gpuhub.cli import main

main()
