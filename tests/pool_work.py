"""Work functions for the worker-pool tests: imported by name in the pool's processes."""

import os

from newsbeam import documents

CRASH_MARK = "KILL-THE-WORKER"


def crash_on_mark(doc):
    """A worker that dies (as a segfault or the OOM killer would) on the marked document."""
    if CRASH_MARK in doc.body:
        os._exit(3)
    return documents.extract_and_tag(doc)
