"""Where a pipeline runs: Beam's FnApiRunner for local runs, any other runner as Beam builds it."""

from __future__ import annotations

# Runner names that mean "on this machine": newsbeam runs them on Beam's FnApiRunner.
LOCAL_RUNNERS = frozenset({"DirectRunner", "SwitchingDirectRunner"})


def new_pipeline(options):
    """A Pipeline for ``options``; the local runner is Beam's FnApiRunner, set up directly.

    Beam's DirectRunner (2.77) first tries to run a pipeline on Prism, a Go binary it
    downloads from GitHub at first use (``urlopen`` without a timeout: a firewall that
    drops packets hangs the run), and falls back to the FnApiRunner when it cannot. So
    the same command would run on a different engine depending on the network. newsbeam
    builds the FnApiRunner the way the DirectRunner's fallback does (the options go to
    its workers, multi-process ones included): the engine every test here runs on.
    ``--runner PrismRunner`` still chooses Prism.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions

    if options.view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        return beam.Pipeline(options=options)
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return beam.Pipeline(runner=fn_runner.FnApiRunner(provision_info=provision), options=options)
