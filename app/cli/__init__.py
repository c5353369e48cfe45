"""The command line: the ``veerkracht`` command (:mod:`app.cli.commands`) and its export/import commands
(:mod:`app.cli.transfer`). A roof layer: it may import the web layer, the schema and everything below."""

from app.cli.commands import cli, main

__all__ = ["cli", "main"]
