"""EXTRAINPUT recipe parsing and the layer-cache files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from pyimcom.cache import (
    StaleCacheError,
    mask_path,
    read_mask,
    read_stack,
    recipe_hash,
    stack_path,
    write_mask,
    write_stack,
)
from pyimcom.errors import ConfigError
from pyimcom.layers.recipes import FAMILIES, parse_recipe, parse_recipes


@pytest.mark.parametrize(
    ("text", "family", "args"),
    [
        ("truth", "truth", (1.0,)),
        ("Truth,0.5", "truth", (0.5,)),
        ("whitenoise12", "whitenoise", (12,)),
        ("1FNOISE2", "1fnoise", (2,)),
        ("labnoise", "labnoise", ()),
        ("cstar14", "cstar", (14,)),
        ("nstar14,2e5,86,3", "nstar", (14, 2e5, 86.0, 3)),
        ("gsfdstar14,0.3", "gsfdstar", (14, 0.3)),
        ("gsext14,seed=100,shear=0.02:0", "gsext", (14, (("seed", "100"), ("shear", "0.02:0")))),
        ("gsextchrom14,/data/PSF_K,rot=30", "gsextchrom", (14, "/data/PSF_K", (("rot", "30"),))),
        ("noise,Readout", "noise", ("Readout",)),
    ],
)
def test_recipes_parse(text, family, args):
    r = parse_recipe(text)
    assert (r.family, r.args, r.text) == (family, args, text)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("whitenoise", "not a known layer recipe"),
        ("stars14", "not a known layer recipe"),
        ("nstar14,lots,86,3", "the flux must be a finite number; got 'lots'"),
        ("nstar14,2e5,86,x", "seed index q must be a non-negative integer"),
        ("gsext14,seed", "option 'seed' must have the form key=value"),
        ("", "non-empty strings"),
    ],
)
def test_bad_recipes_name_the_string(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_recipe(text)


def test_every_family_is_reachable():
    examples = ["truth", "whitenoise1", "1fnoise1", "labnoise", "skyerr", "cstar14", "nstar14,1,1,1",
                "gsstar14", "gstrstar14", "gsfdstar14,1", "gsextchrom14,d", "gsext14", "noise,a"]  # fmt: skip
    assert sorted(r.family for r in parse_recipes(examples)) == sorted(FAMILIES)


def _wcs_header() -> fits.Header:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [60.0, -4.0]
    w.wcs.crpix = [8.5, 8.5]
    w.wcs.cd = [[-3e-5, 0.0], [0.0, 3e-5]]
    return w.to_header()


def test_stack_round_trip_and_stale_cache_error(tmp_path):
    stem = str(tmp_path / "cache" / "in_H")
    path = stack_path(stem, 7, 3)
    assert path.endswith("in_H_00000007_03.fits") and mask_path(stem, 7, 3).endswith("_03_mask.fits")
    stack = np.random.default_rng(1).normal(size=(3, 16, 16)).astype(np.float32)
    h1 = recipe_hash({"EXTRAINPUT": ["whitenoise1", "cstar14"]})
    h2 = recipe_hash({"EXTRAINPUT": ["whitenoise2", "cstar14"]})
    assert h1 != h2 and h1 == recipe_hash({"EXTRAINPUT": ["whitenoise1", "cstar14"]})
    write_stack(path, stack, _wcs_header(), ["SCI", "whitenoise1", "cstar14"], h1)
    back = read_stack(path, h1)
    np.testing.assert_array_equal(np.asarray(back), stack)
    with fits.open(path) as hdul:
        assert hdul[1].name == "SCIWCS" and hdul[1].header["WCSTYPE"] == "FITS"
        assert WCS(hdul[1].header).wcs.crval[0] == 60.0 and hdul[0].header["LAYER002"] == "cstar14"
    with pytest.raises(StaleCacheError, match=r"whitenoise1.*whitenoise2"):
        read_stack(path, h2, layers=["SCI", "whitenoise2", "cstar14"])
    assert sorted(os.listdir(tmp_path / "cache")) == ["in_H_00000007_03.fits"]  # no temporary left


def test_mask_round_trip(tmp_path):
    mask = np.random.default_rng(2).uniform(size=(9, 11)) > 0.3
    p = str(tmp_path / "m_mask.fits")
    write_mask(p, mask)
    np.testing.assert_array_equal(read_mask(p), mask)
    with fits.open(p) as hdul:
        assert hdul[0].data.dtype == np.uint8 and set(np.unique(hdul[0].data)) <= {0, 1}
    with pytest.raises(OSError, match="does not exist"):
        read_mask(str(tmp_path / "none_mask.fits"))


def test_two_builds_into_different_stems_are_byte_identical(small_survey, tmp_path):
    """Every generated layer is deterministic: the same stack twice gives the same file bytes."""
    import dataclasses

    from pyimcom.layers.build import CachedLayerSource
    from pyimcom.settings import input_image, layer_settings

    cfg = small_survey["cfg"]
    obsid, sca = small_survey["layout"].images[0]
    files = []
    for name in ("a", "b"):
        settings = dataclasses.replace(layer_settings(cfg), cache_stem=str(tmp_path / name / "in"))
        source = CachedLayerSource(settings)
        stack, mask = source(input_image(cfg, obsid, sca, source))
        assert stack.shape == (3, 256, 256) and mask.all()
        files.append(source.paths(obsid, sca))
    for a, b in zip(*files, strict=True):
        with open(a, "rb") as fa, open(b, "rb") as fb:
            assert fa.read() == fb.read()


@pytest.mark.parametrize(
    "label, expected",
    [
        ("nstar14,2e5,86,3", (14, 2e5, 86.0, 3)),
        ("NStar18,1000,0.5,0", (18, 1000.0, 0.5, 0)),
        ("  nstar10,1.5E3,-2,12 ", (10, 1500.0, -2.0, 12)),
    ],
)
def test_parse_nstar_good(label, expected):
    assert parse_recipe(label).args == expected


@pytest.mark.parametrize(
    "label",
    [
        "nstar14,2e5,86",
        "cstar14,2e5,86,3",
        "nstar,2e5,86,3",
        "nstar14,abc,86,3",
        "nstar14,2e5,86,1.5",
        "nstar14,nan,86,3",
        "nstar30,1,1,1",
    ],
)
def test_parse_nstar_bad(label):
    with pytest.raises(ConfigError, match="nstar"):
        parse_recipe(label)
    with pytest.raises(ConfigError, match="string"):
        parse_recipe(14)


def test_killed_layer_write_leaves_no_finished_looking_file(tmp_path):
    """A layer job killed (SIGKILL) at the worst moment -- data written, not yet renamed -- leaves
    only a dot-named temporary: the cache file does not exist, so the stack is rebuilt next time."""
    stem = str(tmp_path / "cache" / "in_H")
    code = f"""
import os, signal
import numpy as np
from astropy.wcs import WCS
from pyimcom.cache import recipe_hash, stack_path, write_stack
from pyimcom.io import fitsutil
w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [60.0, -4.0]
def die(src, dst):
    assert os.path.getsize(src) > 0  # everything is written, under the temporary name
    os.kill(os.getpid(), signal.SIGKILL)
fitsutil.os.replace = die
stack = np.ones((2, 16, 16), np.float32)
write_stack(stack_path({stem!r}, 7, 3), stack, w.to_header(), ["SCI", "whitenoise1"], recipe_hash({{"x": 1}}))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr
    left = os.listdir(tmp_path / "cache")
    assert not os.path.exists(stack_path(stem, 7, 3))
    assert len(left) == 1 and left[0].startswith(".") and left[0].endswith(".tmp")  # not a cache name
