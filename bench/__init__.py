"""Benchmarks, run with ``python -m bench [name ...]`` (``make bench``); figures go in docs/benchmarks.md.

Each module exposes ``run() -> dict`` and is registered in ``bench.__main__.BENCHMARKS``. They run
against the development database and Redis (``vitrine.settings``) and remove every row they create.
"""
