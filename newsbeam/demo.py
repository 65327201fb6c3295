"""``make demo`` (``python -m newsbeam.demo``): the main job on the bundled offline sample,
then the report, in a dozen lines that say where everything is and how to query it.

The sample (``configs/samples/``) is fictional reporting on peace talks in an invented
country: HTML pages, plain text, JSON Lines, an RSS and an Atom feed. The run goes
through the Python API, the same pipeline as ``newsbeam run``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsbeam.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="out/sample", help="where to write (replaced if it exists; default out/sample)")
    args = parser.parse_args(argv)
    from newsbeam.pipelines.cli import command_name, parquet_source, python_string, setup_logging, shell_code

    setup_logging(verbose=False)  # as the newsbeam command: newsbeam's own lines only, not Beam's notices (first)

    import newsbeam
    from newsbeam import report
    from newsbeam.pipelines.config import packaged_config_dir

    config = packaged_config_dir() / "sample.yaml"
    output = args.output
    shutil.rmtree(output, ignore_errors=True)
    started = time.monotonic()
    summary = newsbeam.run(config=str(config), output=output)
    took = time.monotonic() - started
    agg = report.aggregate(output)
    page = os.path.join(output, "report.html")
    with open(page, "w", encoding="utf-8") as fh:
        fh.write(report.render_html(agg, output, None, None))
    sql = "SELECT event_type, count(*) AS articles FROM articles GROUP BY ALL ORDER BY articles DESC, event_type"
    events = newsbeam.connect(output).sql(sql).fetchall()
    print(f"newsbeam demo: the bundled sample ({os.path.relpath(config.parent / 'samples')}) -> {output}")
    print(f"  stored    {summary.articles} articles ({summary.duplicates} duplicate skipped), {summary.errors} error rows, "
          f"{summary.stories} stories, in {took:.1f} s")
    print(f"  output    {output}/articles/  (Hive-partitioned Parquet; stories/ beside it, and errors/ once a run has error rows)")
    print(f"  report    {page}  (open it in a browser: charts of events, stances, actors over time)")
    print("  events    " + ", ".join(f"{event} {n}" for event, n in events))
    print("  query it:")
    duck = f"SELECT event_type, count(*) FROM {parquet_source(output)} GROUP BY ALL"
    print(f"    .venv/bin/python -c {shell_code(f'import duckdb; duckdb.sql({python_string(duck)}).show()')}")
    print(f"    .venv/bin/python -c {shell_code(f'import newsbeam; newsbeam.connect({python_string(output)}).sql({python_string(sql)}).show()')}")
    print(f"  next      {command_name()} init myproject   (a starter config with real news feeds to edit;"
          " or `source .venv/bin/activate` to type newsbeam)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
