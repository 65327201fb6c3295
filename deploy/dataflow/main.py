"""Dataflow Flex Template launcher: the template's parameters are `newsbeam run` flags.

The launcher passes each parameter as ``--name=value`` plus Dataflow's own options
(``--runner``, ``--project``, ``--region``, ``--sdk_container_image``, ...); they reach
the same CLI code as ``newsbeam run`` on a laptop.
"""

import sys

from newsbeam.pipelines.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
