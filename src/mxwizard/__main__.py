"""Allows ``python -m mxwizard`` as well as the ``mxwizard`` console script."""

from mxwizard.cli import main

if __name__ == "__main__":
    main()
