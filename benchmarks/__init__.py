"""Benchmarks of the oncoae workflow and its training path (issue #7).

Run with ``make bench`` (or ``python -m benchmarks.run [--only NAME ...] [--quick]``), never by ``make test``.
Every benchmark writes ``benchmarks/results/<name>.json`` and ``<name>.md`` (``--quick`` writes to
``benchmarks/work/results/`` instead), with the machine it ran on described in both.
"""
