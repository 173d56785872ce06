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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="results/bench_block", help="where the survey and caches go")
    parser.add_argument("--layers", default=ISSUE_LAYERS, help="EXTRAINPUT layers joined by '+'")
    parser.add_argument("--images", type=int, default=0, help="only the first IMAGES images (0 = all)")
    parser.add_argument("--threads", type=int, default=2, help="numba threads")
    parser.add_argument("--sca-nside", type=int, default=4088, help="SCA size of the simulated survey")
    args = parser.parse_args(argv)

    import numba

    import pyimcom.layers.build as build
    from pyimcom.config import Config
    from pyimcom.io.obstable import read_obs_table
    from pyimcom.layers.build import CachedLayerSource
    from pyimcom.plan import block_images
    from pyimcom.settings import input_image, layer_settings, plan_settings, target_area
    from pyimcom.simulate import SurveySettings, simulate_survey

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_block import _config

    numba.set_num_threads(args.threads)
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
    t0 = time.perf_counter()
    for k, (obsid, sca) in enumerate(images, start=1):
        t1 = time.perf_counter()
        source(input_image(cfg, obsid, sca, source, obs))
        print(f"image {k} of {len(images)} (obsid {obsid}, SCA {sca}): {time.perf_counter() - t1:.1f} s",
              file=sys.stderr)  # fmt: skip
    wall = time.perf_counter() - t0
    accounted = sum(seconds.values())
    print(f"layer generation: {len(images)} images x {len(layers)} layers, {wall:.1f} s wall "
          f"({wall / len(images):.1f} s/image)")  # fmt: skip
    print("seconds (all images):")
    for label, sec in seconds.items():
        print(f"  {label:24s} {sec:7.1f}")
    print(f"  {'other (read, WCS, PSF)':24s} {wall - accounted:7.1f}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
