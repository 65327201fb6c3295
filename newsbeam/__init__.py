"""newsbeam: news feeds and pages to tagged, Hive-partitioned Parquet, on Apache Beam.

The Python API (``newsbeam.api``), imported on first use so that ``import newsbeam`` stays
light::

    import newsbeam

    summary = newsbeam.run(config="configs/sample.yaml", output="out/sample")
    newsbeam.connect("out/sample").sql("SELECT count(*) FROM articles").show()
    newsbeam.tag("Taliban fighters attacked a police checkpoint in Kandahar on Monday.")["event_type"]
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["AllFeedsFailed", "ConfigError", "OutputBusy", "OutputNotFound", "RunFailed", "RunSummary", "connect", "run", "tag"]


def __getattr__(name: str):
    if name in __all__:
        from newsbeam import api

        return getattr(api, name)
    raise AttributeError(f"module 'newsbeam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
