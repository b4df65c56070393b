"""Subcommands of ``rvsm``: one module each, exposing ``register(subparsers)``.

A command module adds its parser with ``subparsers.add_parser(NAME, ...)`` and sets
``parser.set_defaults(func=run)`` where ``run(args) -> int``.  ``run`` raises
:class:`ValueError` (or :class:`rvsm._cliutil.CliError`) for bad input.
"""
