#!/usr/bin/env python3
"""Benchmark layer generation (the cold-cache cost of a block) and say where the time goes.

Builds the cached layer stack and mask of every input image of block (0, 0) of the benchmark survey
of ``bench_block.py`` (same configuration, ~6 exposures on full-size SCAs) with the layers of the
performance issue: truth, whitenoise1, 1fnoise2, cstar14, gsstar14, gsext14,seed=100.  This is the
work the reference does on a cold layer cache before its first stamp.  Prints the seconds per layer
recipe (summed over the images), reading the science image, the mask, writing the cache files, the
total wall time and the peak RSS.

    python benchmarks/bench_layers.py --workdir /tmp/bench_block      # survey shared with bench_block
    python benchmarks/bench_layers.py --images 1                       # the first image only (quick)
    python benchmarks/bench_layers.py --jobs 2                         # two images at a time
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import defaultdict

ISSUE_LAYERS = "truth+whitenoise1+1fnoise2+cstar14+gsstar14+gsext14,seed=100"


def _timed_build(cfg, image_ids, obs, threads):
    """Build the stacks of ``image_ids`` in this process; per-label seconds and per-image wall times."""
    import numba

    import pyimcom.layers.build as build
    from pyimcom.layers.build import CachedLayerSource
    from pyimcom.settings import input_image, layer_settings

    numba.set_num_threads(threads)
    seconds = defaultdict(float)

    def timed(label, func):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return func(*a, **k)
            finally:
                seconds[label(*a) if callable(label) else label] += time.perf_counter() - t0

        return wrapper

    build._layer = timed(lambda recipe, *_: recipe.text, build._layer)
    build.image_mask = timed("mask", build.image_mask)
    build.write_stack = timed("write cache", build.write_stack)
    build.write_mask = timed("write cache", build.write_mask)
    source = CachedLayerSource(layer_settings(cfg))
    walls = []
    for obsid, sca in image_ids:
        t0 = time.perf_counter()
        source(input_image(cfg, obsid, sca, source, obs))
        walls.append(time.perf_counter() - t0)
        print(f"(obsid {obsid}, SCA {sca}): {walls[-1]:.1f} s", file=sys.stderr, flush=True)
    return dict(seconds), walls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="results/bench_block", help="where the survey and caches go")
    parser.add_argument("--layers", default=ISSUE_LAYERS, help="EXTRAINPUT layers joined by '+'")
    parser.add_argument("--images", type=int, default=0, help="only the first IMAGES images (0 = all)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="images built at once, one process each with 1 thread (as `snakemake --cores JOBS` runs "
        "the 1-thread layer jobs); default 1: one process with --threads numba threads",
    )
    parser.add_argument("--threads", type=int, default=2, help="numba threads (with --jobs 1)")
    parser.add_argument("--sca-nside", type=int, default=4088, help="SCA size of the simulated survey")
    args = parser.parse_args(argv)

    from concurrent.futures import ProcessPoolExecutor

    from pyimcom.config import Config
    from pyimcom.io.obstable import read_obs_table
    from pyimcom.layers.build import CachedLayerSource
    from pyimcom.plan import block_images
    from pyimcom.settings import layer_settings, plan_settings, target_area
    from pyimcom.simulate import SurveySettings, simulate_survey

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_block import _config

    workdir = os.path.abspath(args.workdir)
    layers = [x for x in args.layers.split("+") if x]
    config = _config(workdir, 0, f"threads={args.threads}", 4, layers)
    config["INLAYERCACHE"] = f"{workdir}/layercache/bench"
    cfg = Config(json.dumps(config))
    if not os.path.exists(os.path.join(workdir, "in", "obs.fits")):
        print("simulating the survey ...", file=sys.stderr)
        simulate_survey(SurveySettings(seed=1, sca_nside=args.sca_nside), target_area(cfg), f"{workdir}/in")

    obs = read_obs_table(cfg.obsfile)
    images = block_images(obs, plan_settings(cfg), 0, 0)
    if args.images:
        images = images[: args.images]
    source = CachedLayerSource(layer_settings(cfg))
    for path in (p for im in images for p in source.paths(*im)):
        if os.path.exists(path):
            os.remove(path)  # a cold cache
    os.makedirs(os.path.dirname(config["INLAYERCACHE"]), exist_ok=True)

    t0 = time.perf_counter()
    if args.jobs == 1:
        results = [_timed_build(cfg, images, obs, args.threads)]
    else:
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(_timed_build, cfg, [im], obs, 1) for im in images]
            results = [f.result() for f in futures]
    wall = time.perf_counter() - t0
    seconds = defaultdict(float)
    for part, _ in results:
        for label, sec in part.items():
            seconds[label] += sec
    image_walls = [w for _, walls in results for w in walls]
    how = f"{args.threads} threads" if args.jobs == 1 else f"{args.jobs} processes of 1 thread"
    print(f"layer generation: {len(images)} images x {len(layers)} layers ({how}), {wall:.1f} s wall; "
          f"{sum(image_walls) / len(images):.1f} s per image")  # fmt: skip
    print("seconds (summed over the images):")
    for label, sec in seconds.items():
        print(f"  {label:24s} {sec:7.1f}")
    print(f"  {'other (read, WCS, PSF)':24s} {sum(image_walls) - sum(seconds.values()):7.1f}")
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak memory (max RSS of one process): {peak / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
