"""docs/extending.md holds: a tag added by one module and one registration line reaches the
Parquet output, its schema and ``newsbeam tag``, with nothing else changed."""

import json
import os
import subprocess
import sys

import duckdb

from tests.conftest import REPO, SAMPLE_CONFIG

# What docs/extending.md tells a user to write: there a file under newsbeam/tags/ and a
# line in TAGS; here a sitecustomize module, so that every process registers it, the
# local pool's workers included.
NEW_TAG = '''
import pyarrow as pa

import newsbeam.tags
from newsbeam.tags.base import Tag, column


class ReadingTimeTag(Tag):
    name = "reading_time"
    columns = (column("reading_minutes", pa.float32(), "Minutes to read the text, at 230 words a minute."),)

    def compute(self, doc, done):
        return {"reading_minutes": round(len(doc.text.split()) / 230, 2)}


newsbeam.tags.TAGS = (*newsbeam.tags.TAGS, ReadingTimeTag())
'''


def _run(site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "newsbeam", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          input=stdin, env=env)


def test_a_registered_tag_reaches_the_output_and_newsbeam_tag(tmp_path):
    out, site = tmp_path / "out", tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NEW_TAG)
    ran = _run(site, "run", "--config", str(SAMPLE_CONFIG), "--output", str(out), "--workers", "2")
    assert ran.returncode == 0, ran.stderr
    rows = duckdb.sql(f"SELECT word_count, reading_minutes FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()
    assert rows and all(abs(minutes - words / 230) < 0.01 for words, minutes in rows), rows
    tagged = _run(site, "tag", "-", "-", stdin=json.dumps({"id": 1, "text": "one two three " * 230}) + "\n")
    assert tagged.returncode == 0, tagged.stderr
    assert json.loads(tagged.stdout)["reading_minutes"] == 3.0
