"""The ``pyimcom`` command: one subcommand per pipeline step.

Each subcommand is a thin shell over one library function, so what the Snakemake rules run can also
be run by hand (and is what the tests exercise).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time

from . import __version__

__all__ = ["main", "build_parser"]

logger = logging.getLogger("pyimcom")


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 0 else logging.INFO if verbose == 0 else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger().setLevel(level)  # also when logging was configured before (tests, notebooks)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .config import Config
    from .settings import target_area
    from .simulate import SurveySettings, simulate_survey

    cfg = Config(args.config)
    names = {f.name for f in dataclasses.fields(SurveySettings)}
    settings = SurveySettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    layout = simulate_survey(settings, target_area(cfg), args.outdir, noise=not args.no_noise)
    logger.info(
        "wrote %d exposures and %d images to %s", len(layout.exposures), len(layout.images), args.outdir
    )
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from .config import Config
    from .io.obstable import read_obs_table
    from .plan import make_plan, write_plan
    from .settings import plan_settings

    cfg = Config(args.config)
    plan = make_plan(read_obs_table(cfg.obsfile), plan_settings(cfg, args.strip_rows, args.mode))
    write_plan(plan, args.output)
    n_img = len(plan["images"])
    logger.info(
        "plan: %d blocks, %d images in %d strips -> %s",
        len(plan["blocks"]),
        n_img,
        plan["mosaic"]["n_strips"],
        args.output,
    )
    return 0


def _cmd_coadd(args: argparse.Namespace) -> int:
    import json

    from .coadd import BlockJob
    from .config import Config
    from .geometry import block_index

    cfg = Config(args.config)
    if args.stop is not None:
        cfg.stoptile = args.stop
        cfg()
    if args.this_sub is not None:
        ibx, iby = block_index(args.this_sub, cfg.nblock)
    else:
        ibx, iby = args.block
    images = None
    if args.plan:
        with open(args.plan) as f:
            entry = json.load(f)["blocks"][ibx * cfg.nblock + iby]
        images = [tuple(p) for p in entry["images"]]
    t0 = time.monotonic()
    job = BlockJob.from_config(cfg, ibx, iby, images=images)
    result, relevant = job.run()
    path = job.write(result, relevant)
    logger.info("block (%d, %d) written to %s", ibx, iby, path)
    logger.info("finished at t = %.2f s", time.monotonic() - t0)
    return 0


def _cmd_layers(args: argparse.Namespace) -> int:
    from .config import Config
    from .errors import ConfigError
    from .layers.build import CachedLayerSource
    from .settings import input_image, layer_settings

    cfg = Config(args.config)
    settings = layer_settings(cfg)
    if not settings.cache_stem:
        raise ConfigError(
            "INLAYERCACHE is empty: set a cache stem to build layer files with `pyimcom layers`"
        )
    source = CachedLayerSource(settings)
    stack_file, _ = source.paths(args.obsid, args.sca)
    source(input_image(cfg, args.obsid, args.sca, source))
    logger.info("layer stack of (obsid %d, SCA %d) in %s", args.obsid, args.sca, stack_file)
    return 0


def _cmd_truthcat(args: argparse.Namespace) -> int:
    from .config import Config
    from .truthcats import gen_truthcats_from_cfg

    gen_truthcats_from_cfg(Config(args.config), args.output)  # logs the path
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .diagnostics.run import main as report_main

    rest = list(args.report_args)
    return report_main(rest[1:] if rest[:1] == ["--"] else rest)


def _cmd_config(args: argparse.Namespace) -> int:
    from .config import Config

    cfg = Config(args.config, inmode="block" if args.block else None)
    if args.write:
        cfg.to_file(args.write)
    else:
        sys.stdout.write(cfg.to_file(None) + "\n")
    summary = (
        f"block side {cfg.nside_px} px ({cfg.nside_padded_px} padded), {cfg.n1_padded}^2 stamps "
        f"of {cfg.n2_faded_px}^2 output px, acceptance radius {cfg.inpad_out_px:.3f} px"
    )
    logger.info("configuration OK: %s", summary)
    return 0


def _add_simulate(sub) -> None:
    from .simulate import SurveySettings

    p = sub.add_parser(
        "simulate",
        help="write the synthetic survey (anlsim format) covering a mosaic",
        description="Simulate a small Roman survey covering the mosaic of CONFIG: obs table, "
        "science images, Legendre PSF cubes, lab-noise slopes and the object catalogue.",
    )
    p.add_argument("config", help="PyIMCOM configuration JSON (the mosaic to cover)")
    p.add_argument("--outdir", required=True, help="output directory")
    p.add_argument("--no-noise", action="store_true", help="write noise-free images (tests)")
    for f in dataclasses.fields(SurveySettings):
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=type(f.default),
            default=None,
            help=f"default: {f.default}",
        )
    p.set_defaults(func=_cmd_simulate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pyimcom`` command."""
    parser = argparse.ArgumentParser(
        prog="pyimcom",
        description="PyIMCOM pipeline steps. Each subcommand "
        "is one step of the Snakemake workflow; run `pyimcom SUBCOMMAND --help`.",
    )
    parser.add_argument("--version", action="version", version=f"pyimcom {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbose", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    _add_simulate(sub)

    p = sub.add_parser(
        "plan",
        help="list the input images every block needs (plan.json)",
        description="Write the plan: for each block the sorted (obsid, sca) images whose "
        "pixels fall in the block grown by INPAD, and the strip of every image.",
    )
    p.add_argument("config", help="PyIMCOM configuration JSON")
    p.add_argument("-o", "--output", required=True, help="plan file to write (JSON)")
    p.add_argument(
        "--strip-rows", type=int, default=None, help="block rows per strip (default: from SCA size)"
    )
    p.add_argument(
        "--mode",
        choices=("wcs", "pointing"),
        default="wcs",
        help="wcs: test candidates against the input images' WCS footprints (default); pointing: "
        "from the observation table alone, no input file opened (a superset; for dry runs of "
        "mosaics whose pixels are not in place yet)",
    )
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser(
        "coadd",
        help="coadd one block and write its FITS file",
        description="Coadd block (IX, IY) of the mosaic of CONFIG and write {OUT}_{IX:02d}_{IY:02d}.fits. "
        "The block's input images come from --plan (the plan.json entry) or are found on the spot.",
    )
    p.add_argument("config", help="PyIMCOM configuration JSON")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--block", nargs=2, type=int, metavar=("IX", "IY"), help="block indices")
    where.add_argument("--this-sub", type=int, metavar="J", help="block number J = IX*BLOCK + IY")
    p.add_argument("--plan", help="plan.json written by `pyimcom plan` (default: plan this block now)")
    p.add_argument("--stop", type=int, default=None, help="process only the first STOP stamps (STOP)")
    p.set_defaults(func=_cmd_coadd)

    p = sub.add_parser(
        "layers",
        help="build the cached layer stack and mask of one input image",
        description="Build {INLAYERCACHE}_{obsid:08d}_{sca:02d}.fits (science + every EXTRAINPUT layer) "
        "and its _mask.fits for one (obsid, SCA); an existing stack for the same recipe is kept.",
    )
    p.add_argument("config", help="PyIMCOM configuration JSON")
    p.add_argument("--obsid", type=int, required=True, help="observation ID (row of the obs table)")
    p.add_argument("--sca", type=int, required=True, help="SCA number 1..18")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser(
        "truthcat",
        help="write the truth catalogue of the injected objects ({OUT}_TruthCat.fits)",
        description="Write the truth catalogue of the mosaic of CONFIG: one table TRUTH<n> per HEALPix "
        "resolution of the cstar/nstar/gs* layers, every block, computed from the configuration alone "
        "(no block file is read).",
    )
    p.add_argument("config", help="PyIMCOM configuration JSON")
    p.add_argument("-o", "--output", default=None, help="file to write (default: {OUT}_TruthCat.fits)")
    p.set_defaults(func=_cmd_truthcat)

    p = sub.add_parser(
        "report",
        help="write the diagnostic report of a mosaic (PDF, LaTeX source, data)",
        description="Same as `python3 -m pyimcom.diagnostics.run BLOCK_FILE STEM [options]`; "
        "`pyimcom report -- --help` lists its options.",
    )
    p.add_argument("report_args", nargs=argparse.REMAINDER, help="BLOCK_FILE STEM [options]")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "config",
        help="validate a configuration and print it as reference JSON",
        description="Load a configuration (JSON file, JSON string, or a block FITS with "
        "--block), validate it and print the normalised JSON.",
    )
    p.add_argument("config", help="configuration JSON, JSON string, or block output FITS")
    p.add_argument("--block", action="store_true", help="read the CONFIG HDU of a block output file")
    p.add_argument("--write", metavar="PATH", help="write the JSON to PATH instead of printing it")
    p.set_defaults(func=_cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pyimcom`` command; returns the exit status."""
    from .errors import PyIMCOMError

    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    t0 = time.monotonic()
    try:
        status = args.func(args)
    except PyIMCOMError as exc:
        logger.error("%s", exc)
        return 2
    logger.info("pyimcom %s finished in %.1f s", args.command, time.monotonic() - t0)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
