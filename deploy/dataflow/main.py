"""Dataflow Flex Template launcher: the template's parameters are `newsbeam run` flags.

The launcher passes each parameter as ``--name=value`` plus Dataflow's own options
(``--runner``, ``--project``, ``--region``, ``--sdk_container_image``, ...); they reach
the same CLI code as ``newsbeam run`` on a laptop.
"""

import sys

from newsbeam.pipelines import cli

if __name__ == "__main__":
    # The launcher may add options of its own: report unknown ones, do not refuse them.
    cli.STRICT_OPTIONS = False
    sys.exit(cli.main(["run", *sys.argv[1:]]))
