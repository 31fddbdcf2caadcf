"""`python -m netlab.cli`: the netlab command."""

from netlab.cli import entry

entry()
