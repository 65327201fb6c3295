"""Packaging for newsbeam.

Beam workers install the package from this file (``--setup_file ./setup.py``), so the
configs, taxonomies and lexicons ship as package data: a worker never reads the
launcher's disk.
"""

from setuptools import find_packages, setup

# Beam is pinned exactly: the Dataflow SDK container and the Flex Template launcher must
# run the same Beam as the launcher, or the job graph is rejected at submission.
BEAM_VERSION = "2.77.0"

INSTALL_REQUIRES = [
    f"apache-beam=={BEAM_VERSION}",
    "feedparser>=6.0.11,<7",
    # trafilatura 2.x imports justext, which needs lxml.html.clean; since lxml 5.2 that
    # module is a separate distribution and nothing in trafilatura's metadata pulls it in.
    "trafilatura>=2.0,<3",
    "lxml_html_clean>=0.4",
    "pyarrow>=15",
    # Async HTTP: many requests in flight from one worker, streaming bodies with a size
    # cap, and a resolver hook that enforces the SSRF guard at connect time.
    "aiohttp>=3.9,<4",
    # Config validation with messages that name the offending key.
    "pydantic>=2.5,<3",
    "PyYAML>=6",
    # Offline language identification (the model ships inside the wheel).
    "py3langid>=0.3",
    "python-dateutil>=2.8",
    # The Public Suffix List, bundled in the wheel: which site a canonical link belongs to.
    "publicsuffixlist>=1.0",
    "charset-normalizer>=3",
    # MinHash signatures for stories (newsbeam.stories): Rust, ~25x faster than datasketch
    # and without its SciPy dependency. Pinned exactly: signatures kept in the run state
    # must be computed the same way by every later run.
    "rensa==0.5.0",
    # `newsbeam report`: aggregation over the Parquet and static, self-contained charts.
    "duckdb>=1.1",
    "matplotlib>=3.8",
    # Live progress of long runs on a terminal (newsbeam.progress): small, pure Python.
    "tqdm>=4.66",
]

# Object stores: Beam's S3 and GCS filesystems need their client libraries, which Beam
# keeps in extras. `pip install 'newsbeam[aws]'` for s3:// outputs, `[gcp]` for gs://
# (and for launching on Dataflow).
CLOUD_EXTRAS = {
    # boto3 1.38+: conditional PutObject/DeleteObject (If-None-Match, If-Match) for the lease
    "aws": [f"apache-beam[aws]=={BEAM_VERSION}", "boto3>=1.38"],
    "gcp": [f"apache-beam[gcp]=={BEAM_VERSION}"],
}

# `make train` and `make eval` only: the linear models and the stance network are fitted
# with scikit-learn and shipped as plain numpy arrays. (Round 3's encoder tier, which
# needed torch to train, was retired in round 4: docs/tags.md.)
TRAIN = ["scikit-learn>=1.4", "scipy>=1.10"]

# The documentation site (make docs): MkDocs with the Material theme, and mkdocstrings for
# the API page generated from the docstrings.
DOCS = ["mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.26"]

EXTRAS = {
    **CLOUD_EXTRAS,
    "docs": DOCS,
    "train": TRAIN,
    "dev": [
        *TRAIN,
        *CLOUD_EXTRAS["aws"],
        *CLOUD_EXTRAS["gcp"],
        # tests/test_object_storage.py runs the pipeline against real S3 and GCS API
        # servers on 127.0.0.1: moto's, and gcp-storage-emulator (pure Python). moto's S3
        # backend and the two Flask packages its server needs, not moto[server], whose
        # CloudFormation linter pulls in SymPy and NetworkX (about 150 MB) for nothing here.
        "moto[s3]>=5,<6",
        "flask>=2",
        "flask-cors>=3",
        "gcp-storage-emulator>=2024.8",
        "pytest>=8",
        # The suite runs on every core (make test): ten minutes, not forty, on two cores.
        "pytest-xdist>=3.5",
        # tests/test_runners.py installs the sdist into a fresh virtualenv with it, as make
        # demo installs: every dependency, from uv's cache, in seconds instead of a minute.
        "uv>=0.4",
        "polars>=1.0",
        "pandas>=2.0",
        "ruff>=0.6",
        "kubernetes-validate>=1.30",  # deploy/ manifest check
        *DOCS,
    ],
}

setup(
    name="newsbeam",
    version="0.1.0",
    description="News feeds to tagged, Hive-partitioned Parquet on Apache Beam",
    python_requires=">=3.10",
    # configs/ (and its data-only subfolders) installs as newsbeam/configs; the models
    # folder is data too. Listing data folders as packages is what setuptools asks.
    packages=find_packages(include=["newsbeam", "newsbeam.*"])
    + ["newsbeam.configs", "newsbeam.configs.claims", "newsbeam.configs.samples", "newsbeam.configs.taxonomy",
       "newsbeam.tagging.models"],
    package_dir={"newsbeam.configs": "configs"},
    package_data={
        "newsbeam.configs": ["*.yaml"],
        "newsbeam.configs.claims": ["*.yaml"],
        "newsbeam.configs.samples": ["*"],
        "newsbeam.configs.taxonomy": ["*.yaml"],
        "newsbeam": ["py.typed"],
        "newsbeam.tagging.models": ["*.npz"],
    },
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["newsbeam=newsbeam.pipelines.cli:main"]},
)
