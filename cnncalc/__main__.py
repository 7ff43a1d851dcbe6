"""``python -m cnncalc``: the same as the ``cnncalc`` command."""

from .cli import main

main()
