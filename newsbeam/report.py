"""``newsbeam report``: what happened, as one self-contained HTML page and a terminal summary.

Every number is aggregated in DuckDB over the Hive-partitioned Parquet (partition
pruning on ``published_date`` for ``--since``/``--until``), so the page renders the same
way for ten articles or a hundred thousand: Python only ever sees aggregates. Charts are
drawn with matplotlib and inlined as SVG, so the page has no network reference and
opens from disk.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
from dataclasses import dataclass, field

from newsbeam import storage
from newsbeam.layout import manifest_path
from newsbeam.tagging.events import CONFIDENT
from newsbeam.text import plural

LOGGER = logging.getLogger(__name__)

# One colour per event type, the same in every chart (PLOVER order: cooperative to
# conflictual, cool to warm; NONE grey).
EVENT_COLORS = {
    "AGREE": "#1b7837", "CONSULT": "#5aae61", "SUPPORT": "#a6dba0", "CONCEDE": "#7fbf7b",
    "COOPERATE": "#2c7fb8", "AID": "#41b6c4", "RETREAT": "#a1dab4", "REQUEST": "#fdd49e",
    "ACCUSE": "#fdbb84", "REJECT": "#fc8d59", "THREATEN": "#ef6548", "PROTEST": "#9e9ac8",
    "SANCTION": "#6a51a3", "MOBILIZE": "#d7301f", "COERCE": "#b30000", "ASSAULT": "#7f0000",
    "NONE": "#bdbdbd", "untagged": "#f0f0f0",
}
STANCE_COLORS = {"agree": "#1a9850", "discuss": "#fee08b", "disagree": "#d73027"}
TOP_SOURCES = 8
# Bucket by day up to this many days, then by week, then by month.
MAX_DAILY_BUCKETS = 120
MAX_WEEKLY_BUCKETS = 160


@dataclass
class Aggregates:
    total: int = 0
    first: dt.date | None = None
    last: dt.date | None = None
    bucket: str = "day"
    by_source_time: list[tuple] = field(default_factory=list)  # (bucket, source, n)
    by_event_time: list[tuple] = field(default_factory=list)  # (bucket, event_type, n)
    stance_time: list[tuple] = field(default_factory=list)  # (claim_id, target, bucket, label, n)
    sources: list[tuple] = field(default_factory=list)  # (source, n)
    languages: list[tuple] = field(default_factory=list)  # (language, n)
    events: list[tuple] = field(default_factory=list)  # (event_type, n)
    errors: list[tuple] = field(default_factory=list)  # (stage, error_type, n)
    dyads: list[tuple] = field(default_factory=list)  # (event_type, source code, target code, articles)
    # (bucket, articles, new stories): a story counts once, in the bucket of its first article
    stories_time: list[tuple] = field(default_factory=list)
    stories: int = 0
    runs: int = 0
    unreadable: list[tuple] = field(default_factory=list)  # (file, reason): committed files skipped
    # Articles without a publication date: in the totals, not in the time charts (filing
    # them under the day they were fetched would draw them where nothing happened).
    undated: int = 0
    # (bucket, event_type, n) of the articles whose event type is not NONE and whose
    # event_confidence is CONFIDENT or more: the "confident only" view.
    confident_event_time: list[tuple] = field(default_factory=list)
    confident_events: int = 0
    events_tagged: int = 0  # articles with an event type other than NONE


def _where(since: str | None, until: str | None) -> str:
    clauses = []
    if since:
        clauses.append(f"published_date >= DATE '{dt.date.fromisoformat(since)}'")
    if until:
        clauses.append(f"published_date <= DATE '{dt.date.fromisoformat(until)}'")
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def aggregate(output: str, since: str | None = None, until: str | None = None) -> Aggregates:
    """Every number the report shows, computed in DuckDB.

    A committed file that cannot be read (truncated, overwritten, not Parquet) is left out
    and listed in ``unreadable``: its footer is checked first, and where a file with a
    sound footer still fails the query, every file is read in full to find it.
    """
    import duckdb

    try:
        return _aggregate(output, since, until, thorough=False)
    except duckdb.Error:
        if not storage.is_local(output):
            raise
        LOGGER.info("a query failed on %s; checking every file in full", output, exc_info=True)
        return _aggregate(output, since, until, thorough=True)


def _aggregate(output: str, since: str | None, until: str | None, thorough: bool) -> Aggregates:
    import duckdb

    agg = Aggregates()
    con = duckdb.connect()
    articles = _source(con, output, "articles", agg.unreadable, thorough)
    errors = _source(con, output, "errors", agg.unreadable, thorough)
    if articles:
        # An undated article is filed under the day it was fetched (newsbeam.layout); its
        # day here is its publication date, null when it has none.
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW a AS SELECT *, CAST(published_at AS DATE) AS day FROM {articles}")
        con.execute(f"CREATE VIEW f_all AS SELECT * FROM a {_where(since, until)}")
        # The time charts read the dated articles only; the totals read every article.
        con.execute("CREATE VIEW f AS SELECT * FROM f_all WHERE day IS NOT NULL")
        agg.total, agg.undated = con.execute("SELECT count(*), count(*) - count(day) FROM f_all").fetchone()
        agg.first, agg.last = con.execute("SELECT min(day), max(day) FROM f").fetchone()
    if agg.total:
        _totals(con, agg)
    if agg.total and agg.first is not None:
        span = (agg.last - agg.first).days + 1
        agg.bucket = "day" if span <= MAX_DAILY_BUCKETS else ("week" if span / 7 <= MAX_WEEKLY_BUCKETS else "month")
        b = f"CAST(date_trunc('{agg.bucket}', day) AS DATE)"
        top = [s for s, _ in agg.sources[:TOP_SOURCES]]
        agg.by_source_time = con.execute(
            f"SELECT {b} t, CASE WHEN coalesce(source, 'unknown') IN (SELECT unnest(?)) "
            "THEN coalesce(source, 'unknown') ELSE 'other sources' END s, count(*) FROM f GROUP BY t, s ORDER BY t, s",
            [top],
        ).fetchall()
        agg.by_event_time = con.execute(
            f"SELECT {b} t, coalesce(event_type, 'untagged') e, count(*) FROM f GROUP BY t, e ORDER BY t, e"
        ).fetchall()
        if "event_confidence" in _columns(con):
            agg.confident_event_time = con.execute(
                f"SELECT {b} t, event_type e, count(*) FROM f WHERE event_type <> 'NONE' "
                f"AND event_confidence >= {CONFIDENT} GROUP BY t, e ORDER BY t, e").fetchall()
        agg.dyads = _dyads(con)
        agg.stories_time, agg.stories = _stories(con, agg.bucket)
        agg.stance_time = con.execute(
            f"SELECT s.claim_id, any_value(s.target), {b} t, s.label, count(*) "
            "FROM (SELECT day, unnest(stances) s FROM f) GROUP BY s.claim_id, t, s.label ORDER BY 1, 3, 4"
        ).fetchall()
    if errors:
        agg.errors = con.execute(
            f"SELECT stage, error_type, count(*) n FROM {errors} GROUP BY ALL ORDER BY n DESC, stage, error_type"
        ).fetchall()
    agg.runs = len(storage.list_files(manifest_path(output, "*")))
    return agg


def _totals(con, agg: Aggregates) -> None:
    """The counts over every article of the window, dated or not (view ``f_all``)."""
    agg.events = con.execute("SELECT coalesce(event_type, 'untagged') e, count(*) n FROM f_all GROUP BY e ORDER BY n DESC, e").fetchall()
    agg.languages = con.execute(
        "SELECT coalesce(language, 'unknown') l, count(*) n FROM f_all GROUP BY l ORDER BY n DESC, l"
    ).fetchall()
    agg.sources = con.execute(
        "SELECT coalesce(source, 'unknown') s, count(*) n FROM f_all GROUP BY s ORDER BY n DESC, s"
    ).fetchall()
    agg.events_tagged = con.execute("SELECT count(*) FROM f_all WHERE event_type <> 'NONE'").fetchone()[0]
    if "event_confidence" in _columns(con, "f_all"):
        agg.confident_events = con.execute(
            f"SELECT count(*) FROM f_all WHERE event_type <> 'NONE' AND event_confidence >= {CONFIDENT}").fetchone()[0]


# Source -> target pairs of each event type found in an article (its event_actors), counted
# once per article; actors without a country code are left out.
_DYADS_SQL = """
WITH e AS (SELECT article_id, unnest(event_actors) AS ea FROM f),
     s AS (SELECT article_id, ea.event_type AS et, unnest(list_distinct([x.code FOR x IN ea.source IF x.code IS NOT NULL])) AS sc,
                  list_distinct([x.code FOR x IN ea.target IF x.code IS NOT NULL]) AS tcs FROM e),
     d AS (SELECT DISTINCT article_id, et, sc, tc FROM (SELECT article_id, et, sc, unnest(tcs) AS tc FROM s))
SELECT et, sc, tc, count(*) AS n FROM d GROUP BY ALL ORDER BY n DESC, et, sc, tc LIMIT ?
"""
TOP_DYADS = 20


def _columns(con, view: str = "f") -> set[str]:
    """The columns of one of the report's views (older outputs lack the newer ones)."""
    return {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}


def _dyads(con) -> list[tuple]:
    if "event_actors" not in _columns(con):  # an output written before actors were coded
        return []
    return con.execute(_DYADS_SQL, [TOP_DYADS]).fetchall()


def _stories(con, bucket: str) -> tuple[list[tuple], int]:
    """Articles and new stories per bucket; ([], 0) for an output written before stories."""
    if "story_id" not in _columns(con) or not con.execute("SELECT count(story_id) FROM f").fetchone()[0]:
        return [], 0
    rows = con.execute(
        f"WITH s AS (SELECT story_id, min(day) AS d FROM f WHERE story_id IS NOT NULL GROUP BY story_id), "
        f"ns AS (SELECT CAST(date_trunc('{bucket}', d) AS DATE) AS t, count(*) AS n FROM s GROUP BY t), "
        f"na AS (SELECT CAST(date_trunc('{bucket}', day) AS DATE) AS t, count(*) AS n FROM f GROUP BY t) "
        "SELECT na.t, na.n, coalesce(ns.n, 0) FROM na LEFT JOIN ns USING (t) ORDER BY na.t"
    ).fetchall()
    return rows, con.execute("SELECT count(DISTINCT story_id) FROM f").fetchone()[0]


def _unreadable(path: str, thorough: bool) -> str | None:
    """Why a local Parquet file cannot be read (its footer, the rule every reader follows:
    ``newsbeam.dataset.unreadable_reason``; with ``thorough`` every page too), or None."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from newsbeam.dataset import unreadable_reason

    reason = unreadable_reason(pafs.LocalFileSystem(), path)
    if reason is not None or not thorough:
        return reason
    try:
        pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return None


def _source(con, output: str, kind: str, unreadable: list | None = None, thorough: bool = False) -> str | None:
    """What to put after FROM to read ``kind`` of an output; None when it has no file.

    Local files are read by DuckDB itself. Object stores are read through Arrow's S3/GCS
    clients (``newsbeam.dataset``) and scanned in place, since DuckDB's own ``httpfs``
    extension is a download that offline machines cannot make.
    """
    if storage.is_local(output):
        from newsbeam.dataset import committed_paths

        # Only committed files (see newsbeam.dataset): never half a run, never a
        # compaction's old and new files at once.
        paths = []
        for path in committed_paths(output, kind):
            reason = _unreadable(path, thorough)
            if reason is None:
                paths.append(path)
            elif unreadable is not None:
                unreadable.append((path, reason))
        if not paths:
            return None
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        return f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"
    from newsbeam.dataset import open_dataset

    data = open_dataset(output, kind)
    if data is None:
        return None
    con.register(f"{kind}_data", data)
    return f"{kind}_data"


# -- charts ---------------------------------------------------------------------------


def _figure(width=10.0, height=3.6):
    import matplotlib

    matplotlib.use("Agg")
    # Labels are data (source names, titles, claims): "$5 $10" must print as written,
    # not be parsed as mathtext (which raises on unbalanced or unknown commands).
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _pivot(rows, key_order=None):
    """(bucket, key, n) rows to (buckets, {key: [n per bucket]})."""
    buckets = sorted({r[0] for r in rows})
    keys = key_order or sorted({r[1] for r in rows})
    index = {b: i for i, b in enumerate(buckets)}
    series = {k: [0] * len(buckets) for k in keys}
    for bucket, key, n in rows:
        if key in series:
            series[key][index[bucket]] += n
    return buckets, series


def _stacked(ax, buckets, series, colors, agg: Aggregates, integer: bool = True):
    """Stacked bars over the report's whole window, so every time chart shares one axis."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    bucket_name = agg.bucket
    width = {"day": 0.8, "week": 5.6, "month": 24}[bucket_name]
    bottom = [0] * len(buckets)
    for key, values in series.items():
        ax.bar(buckets, values, width=width, bottom=bottom, label=key, color=colors.get(key), linewidth=0)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    pad = dt.timedelta(days={"day": 1, "week": 7, "month": 31}[bucket_name])
    ax.set_xlim(agg.first - pad, agg.last + pad)
    if integer:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)


def chart_sources_over_time(agg: Aggregates) -> str:
    import matplotlib

    fig, ax = _figure()
    order = [s for s, _ in agg.sources[:TOP_SOURCES]]
    if any(r[1] == "other sources" for r in agg.by_source_time):
        order.append("other sources")
    buckets, series = _pivot(agg.by_source_time, order)
    cmap = matplotlib.colormaps["tab10"]
    colors = {k: ("#bdbdbd" if k == "other sources" else cmap(i % 10)) for i, k in enumerate(order)}
    _stacked(ax, buckets, series, colors, agg)
    ax.set_ylabel(f"articles per {agg.bucket}")
    ax.set_title(f"Articles per {agg.bucket}, by source", loc="left")
    return _svg(fig)


def chart_stories_over_time(agg: Aggregates) -> str:
    """Articles and stories per bucket side by side: copies and follow-ups inflate the first."""
    fig, ax = _figure(height=3.0)
    buckets = [r[0] for r in agg.stories_time]
    width = {"day": 0.4, "week": 2.8, "month": 12}[agg.bucket]
    offset = dt.timedelta(days=width / 2)
    ax.bar([b - offset for b in buckets], [r[1] for r in agg.stories_time], width=width, color="#bdbdbd", label="articles")
    ax.bar([b + offset for b in buckets], [r[2] for r in agg.stories_time], width=width, color="#2c7fb8",
           label="new stories")
    _stacked(ax, [], {}, {}, agg)
    ax.set_ylabel(f"per {agg.bucket}")
    ax.set_title(f"Articles and stories per {agg.bucket} (a story counts once, when it first appears)", loc="left")
    return _svg(fig)


def chart_events_over_time(agg: Aggregates, confident: bool = False) -> str:
    rows = agg.confident_event_time if confident else agg.by_event_time
    fig, ax = _figure()
    present = {r[1] for r in rows}
    order = [t for t in EVENT_COLORS if t in present] + sorted(present - set(EVENT_COLORS))
    buckets, series = _pivot(rows, order)
    _stacked(ax, buckets, series, EVENT_COLORS, agg)
    ax.set_ylabel(f"articles per {agg.bucket}")
    title = (f"Confident event tags per {agg.bucket} (event_confidence \u2265 {CONFIDENT})" if confident
             else f"Event types per {agg.bucket} (PLOVER; NONE = no political event)")
    ax.set_title(title, loc="left")
    return _svg(fig)



def chart_stances(agg: Aggregates) -> list[tuple[str, str, str]]:
    """One chart per claim: share of agree/discuss/disagree among related articles."""
    import matplotlib.dates as mdates

    charts = []
    claims: dict[str, tuple[str, list]] = {}
    for claim_id, target, bucket, label, n in agg.stance_time:
        claims.setdefault(claim_id, (target, []))[1].append((bucket, label, n))
    for claim_id, (target, rows) in sorted(claims.items()):
        related = [r for r in rows if r[1] != "unrelated"]
        unrelated = sum(r[2] for r in rows if r[1] == "unrelated")
        fig, ax = _figure(height=3.0)
        if not related:
            ax.text(0.5, 0.5, f"no related article ({unrelated} unrelated)", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            buckets, series = _pivot(related, list(STANCE_COLORS))
            totals = [sum(series[k][i] for k in series) for i in range(len(buckets))]
            shares = {k: [v / t if t else 0 for v, t in zip(vals, totals, strict=True)] for k, vals in series.items()}
            _stacked(ax, buckets, shares, STANCE_COLORS, agg, integer=False)
            for x, total in zip(buckets, totals, strict=True):
                ax.annotate(f"n={total}", (mdates.date2num(x), 1.0), ha="center", va="bottom", fontsize=7, color="#555")
            ax.set_ylim(0, 1.12)
            ax.set_ylabel("share of related articles")
        ax.set_title(f"Stance toward: {target}", loc="left", fontsize=10)
        charts.append((claim_id, target, _svg(fig)))
    return charts


def chart_dyads(agg: Aggregates) -> str:
    """The most frequent source -> target pairs, each bar coloured by its event type."""
    rows = [(f"{et}: {sc} \u2192 {tc}", n) for et, sc, tc, n in agg.dyads]
    return chart_bars(rows, "Who did what to whom: top source \u2192 target pairs", "articles", EVENT_COLORS,
                      limit=TOP_DYADS, color_keys=[et for et, _, _, _ in agg.dyads], width=7.0)


def chart_bars(rows: list[tuple], title: str, xlabel: str, colors: dict | None = None, limit: int = 15,
               color_keys: list[str] | None = None, width: float = 5.2) -> str:
    rows = rows[:limit]
    fig, ax = _figure(width=width, height=max(1.6, 0.32 * len(rows) + 0.9))
    labels = [str(r[0]) for r in rows][::-1]
    values = [r[-1] for r in rows][::-1]
    keys = (color_keys[: len(rows)] if color_keys else labels[::-1])[::-1]
    ax.barh(range(len(labels)), values, color=[(colors or {}).get(k, "#4c72b0") for k in keys])
    ax.set_yticks(range(len(labels)), labels)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=10)
    for y, v in enumerate(values):
        ax.annotate(str(v), (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    return _svg(fig)


# -- page -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#666} .grid{display:flex;flex-wrap:wrap;gap:1rem} .grid>div{flex:1 1 480px}
table{border-collapse:collapse;font-size:.9rem} td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right} svg{max-width:100%;height:auto}
"""


def render_html(agg: Aggregates, output: str, since: str | None, until: str | None) -> str:
    esc = html.escape
    window = f"{since or agg.first or '…'} to {until or agg.last or '…'}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>newsbeam report: {esc(output)}</title><style>{_CSS}</style></head><body>",
        "<h1>newsbeam report</h1>",
        f"<p class='meta'>{esc(output)} &middot; {plural(agg.total, 'article')} &middot; {esc(window)} &middot; "
        f"{plural(agg.runs, 'run')} &middot; generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
    ]
    if agg.undated:
        parts.append(f"<p class='meta'>{plural(agg.undated, 'article')} without a publication date: counted in the totals,"
                     " left out of the charts over time.</p>")
    if not agg.total:
        parts.append("<p><strong>No articles in this window.</strong></p>")
    elif agg.first is None:
        parts.append("<p>No article in this window has a publication date: no chart over time.</p>")
    if agg.total and agg.first is not None:
        parts += [
            "<h2 id='volume'>Articles over time</h2>", chart_sources_over_time(agg),
            "<h2 id='stories'>Stories per " + agg.bucket + "</h2>",
            chart_stories_over_time(agg) if agg.stories_time else "<p>This output has no story ids.</p>",
            "<h2 id='events'>Event types over time</h2>", chart_events_over_time(agg),
            "<h2 id='confident'>Event types over time, confident only</h2>",
            f"<p class='meta'>{agg.confident_events} of {plural(agg.events_tagged, 'event tag')} have an event_confidence of"
            f" {CONFIDENT} or more (right at least 8 times in 10 on sources the model never saw).</p>",
            chart_events_over_time(agg, confident=True) if agg.confident_event_time
            else "<p>No confident event tag in this window.</p>",
            "<h2 id='stance'>Stance toward each claim</h2>",
        ]
        stance_charts = chart_stances(agg)
        if not stance_charts:
            parts.append("<p>No claims were configured for these articles.</p>")
        parts += [svg for _, _, svg in stance_charts]
    if agg.total:
        parts += [
            "<h2 id='sources'>Sources and languages</h2><div class='grid'>",
            f"<div>{chart_bars(agg.sources, 'Top sources', 'articles')}</div>",
            f"<div>{chart_bars(agg.languages, 'Languages', 'articles')}</div>",
            f"<div>{chart_bars(agg.events, 'Event types, all articles', 'articles', EVENT_COLORS, limit=17)}</div>",
            "</div>",
            "<h2 id='dyads'>Actors: source \u2192 target per event type</h2>",
            chart_dyads(agg) if agg.dyads else "<p>No event with a coded source and target in this window.</p>",
        ]
    parts.append("<h2 id='errors'>Errors by stage and type</h2>")
    if agg.errors:
        labelled = [(f"{s} / {t}", n) for s, t, n in agg.errors]
        parts.append(chart_bars(labelled, "Failures (all runs)", "error rows", limit=20))
        rows = "".join(f"<tr><td>{esc(s)}</td><td>{esc(t)}</td><td class='n'>{n}</td></tr>" for s, t, n in agg.errors)
        parts.append(f"<table><tr><th>stage</th><th>error type</th><th>rows</th></tr>{rows}</table>")
    else:
        parts.append("<p>No errors recorded.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def terminal_summary(agg: Aggregates) -> str:
    if not agg.total:
        return ("no articles in this window" + (f"; {sum(e[2] for e in agg.errors)} error rows" if agg.errors else "")
                + (f"; {len(agg.unreadable)} unreadable files skipped" if agg.unreadable else ""))
    lines = [
        f"{agg.total} articles" + (f" ({agg.stories} {'story' if agg.stories == 1 else 'stories'})" if agg.stories else "")
        + f", {agg.first} to {agg.last}, from {plural(len(agg.sources), 'source')} in {plural(len(agg.languages), 'language')}"
        + (f" ({agg.undated} undated)" if agg.undated else ""),
        f"confident:    {agg.confident_events} of {plural(agg.events_tagged, 'event tag')} at event_confidence >= {CONFIDENT}",
        "top sources:  " + ", ".join(f"{s} {n}" for s, n in agg.sources[:5]),
        "event types:  " + ", ".join(f"{t} {n}" for t, n in agg.events[:8]),
    ]
    per_claim: dict[str, dict[str, int]] = {}
    for claim_id, _t, _b, label, n in agg.stance_time:
        per_claim.setdefault(claim_id, {}).setdefault(label, 0)
        per_claim[claim_id][label] += n
    for claim_id, labels in sorted(per_claim.items()):
        lines.append(f"stance {claim_id}: " + ", ".join(f"{k} {labels.get(k, 0)}" for k in ("agree", "disagree", "discuss", "unrelated")))
    if agg.dyads:
        lines.append("top dyads:    " + ", ".join(f"{et} {sc}->{tc} {n}" for et, sc, tc, n in agg.dyads[:5]))
    if agg.errors:
        lines.append("errors:       " + ", ".join(f"{s}/{t} {n}" for s, t, n in agg.errors[:6]))
    if agg.unreadable:
        lines.append(f"skipped:      {len(agg.unreadable)} unreadable file{'s' if len(agg.unreadable) > 1 else ''}"
                     " (named above)")
    return "\n".join(lines)
