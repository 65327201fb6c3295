"""The run state under ``<output>/_state``: what earlier runs stored, and each feed's validators.

- ``seen/<run id>.parquet``: the article ids, text fingerprints and listing-URL ids a
  run committed; later runs skip them (deduplication across runs).
- ``feeds.json``: each feed's ETag and Last-Modified for conditional GETs, saved only
  after a run's data is committed.

Written only by the commit (``newsbeam.commit``), read at the start of a run or a stream.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq

from newsbeam import storage
from newsbeam.layout import FEEDS_STATE, SEEN
from newsbeam.records import utcnow

LOGGER = logging.getLogger(__name__)


SEEN_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("text_fingerprint", pa.string(), nullable=False),
        # The id of the URL the article was listed under, when a page's canonical link
        # gave it another id: a later run must recognise the listing too.
        pa.field("url_id", pa.string()),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)


def seen_files(state_path: str) -> list[str]:
    return storage.list_files(storage.join(state_path, SEEN, "*.parquet"))


def read_seen(path: str):
    """``(article_id, text_fingerprint, url_id)`` triples of one seen-ids file."""
    with storage.open_read(path) as fh:
        table = pq.read_table(fh)
    url_ids = table.column("url_id").to_pylist() if "url_id" in table.column_names else [None] * table.num_rows
    yield from zip(
        table.column("article_id").to_pylist(), table.column("text_fingerprint").to_pylist(), url_ids, strict=True
    )


def seen_table(winners: list, run_id: str) -> pa.Table:
    """The seen-ids rows of a run's kept articles (RowKeys)."""
    return pa.table(
        {
            "article_id": [k.article_id for k in winners],
            "text_fingerprint": [k.text_fingerprint for k in winners],
            "url_id": [k.url_id if k.url_id != k.article_id else None for k in winners],
            "run_id": [run_id] * len(winners),
        },
        schema=SEEN_SCHEMA,
    )


def load_feed_state(state_path: str) -> dict:
    path = storage.join(state_path, FEEDS_STATE)
    try:
        return storage.read_json(path) if storage.exists(path) else {}
    except (ValueError, OSError) as exc:
        LOGGER.warning("ignoring unreadable feed state %s: %s", path, exc)
        return {}


def feed_validators(statuses: list, retry: set[str]) -> dict[str, dict | None]:
    """Validators to save per feed; None forgets a feed's, so its next poll is a full GET.

    A feed whose poll failed, or one of whose articles failed transiently, is forgotten:
    the next run lists its entries again and fetches the ones still missing.
    """
    out: dict[str, dict | None] = {}
    for st in statuses:
        if st.error is not None or st.url in retry or not (st.etag or st.last_modified):
            out[st.url] = None
        else:
            out[st.url] = {"etag": st.etag, "last_modified": st.last_modified, "checked_at": utcnow().isoformat()}
    return out


def save_feed_state(state_path: str, validators: dict[str, dict | None]) -> None:
    path = storage.join(state_path, FEEDS_STATE)
    state = storage.read_json(path) if storage.exists(path) else {}
    for url, value in validators.items():
        if value is None:
            state.pop(url, None)
        else:
            state[url] = value
    storage.write_json_atomic(path, state)
