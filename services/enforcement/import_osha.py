"""Import an OSHA enforcement export into the enforcement service.

    python -m services.enforcement.import_osha DIR --report report.csv [--dry-run]

DIR holds the inspection and violation tables (or the two joined) and the
data dictionary, in the shape of `../shared/data/osha/` (services/enforcement/
osha.py says how each column maps). The report lists, row by row, what could
not be mapped and every record the service refused; the import goes on past
them. `--dry-run` maps, rehearses every record on the case aggregate, writes
the report and prints the figures, and sends nothing. Sending goes over the
services' internal RPC (`AMQP_URI`) to `enforcement.import_records`, in
batches, with a progress bar; a second run imports nothing twice (every id
is derived from the source's keys, every record is journaled by its content).
"""
import argparse
import json
import os
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from einspection import money

from . import osha


def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m services.enforcement.import_osha",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="the export: tables, or one joined file, and the "
                                          "data dictionary")
    parser.add_argument("--report", required=True, help="CSV file of what was not mapped")
    parser.add_argument("--dry-run", action="store_true", help="map and report; send nothing")
    parser.add_argument("--batch-size", type=int, default=osha.BATCH_SIZE)
    return parser.parse_args(argv)


def shown_figures(figures):
    """The figures with money as decimal strings (USD)."""
    return dict(figures, currency=osha.CURRENCY,
                fines_proposed=money.format(figures["fines_proposed"]),
                fines_imposed=money.format(figures["fines_imposed"]),
                top_establishments=[{"name": name, "town": town, "fines_imposed":
                                     money.format(fen)}
                                    for name, town, fen in figures["top_establishments"]])


def enforcement_rpc(amqp_uri):
    """The enforcement service's import_records over nameko RPC, and the
    proxy to stop when done."""
    from nameko.standalone.rpc import ClusterRpcProxy
    proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=300)
    cluster = proxy.start()
    return cluster.enforcement.import_records, proxy


def main(argv=None, rpc=None, out=sys.stdout):
    args = arguments(argv)
    mapped = osha.map_export(args.directory)
    report = list(mapped.report)
    imported = 0
    if not args.dry_run:
        stop = None
        if rpc is None:
            rpc, proxy = enforcement_rpc(os.environ.get("AMQP_URI",
                                                        "amqp://guest:guest@localhost"))
            stop = proxy.stop
        try:
            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=Console(stderr=True)) as bar:
                task = bar.add_task("records", total=len(mapped.records))
                imported, refused = osha.send(osha.batches(mapped, args.batch_size), rpc,
                                              progress=lambda n: bar.advance(task, n))
        finally:
            if stop:
                stop()
        report += refused
    osha.write_report(report, args.report)
    summary = {"records": len(mapped.records), "imported": imported,
               "dry_run": args.dry_run, "report_rows": len(report),
               "figures": shown_figures(mapped.figures())}
    out.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
