"""Shared fixtures: a small synthetic survey in the anlsim layout and its PyIMCOM configuration.

The survey uses small SCAs (256 pixels) and a 4 x 4 mosaic of 8" blocks so that images overlap the
blocks only partly, which exercises the planner; everything else has production-like settings.
"""

from __future__ import annotations

import json
import os

import pytest

SMALL_SCA = 256


def small_config_dict(root: str) -> dict:
    """A valid PyIMCOM configuration of a 3 x 3 mosaic whose inputs live under ``root``."""
    return {
        "OBSFILE": os.path.join(root, "inputs", "obs.fits"),
        "INDATA": [os.path.join(root, "inputs"), "anlsim"],
        "FILTER": 2,
        "INPSF": [os.path.join(root, "inputs", "psf"), "anlsim", 8],
        "EXTRAINPUT": ["whitenoise1", "cstar14"],
        "CTR": [60.0, -4.0],
        "LONPOLE": 180.0,
        "BLOCK": 4,
        "OUTSIZE": [2, 16, 0.25],
        "FADE": 2,
        "PAD": 0,
        "PADSIDES": "auto",
        "OUT": os.path.join(root, "out", "small_H"),
        "INLAYERCACHE": os.path.join(root, "cache", "small_H"),
        "OUTPSF": "GAUSSIAN",
        "EXTRASMOOTH": 0.934254,
        "INPAD": 1.0,
        "KAPPAC": [6e-4],
    }


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """Simulate the small survey once per session; returns a dict with the paths, Config and layout."""
    from pyimcom.config import Config
    from pyimcom.settings import target_area
    from pyimcom.simulate import SurveySettings, simulate_survey

    root = str(tmp_path_factory.mktemp("small_survey"))
    cfg_path = os.path.join(root, "small.json")
    with open(cfg_path, "w") as f:
        json.dump(small_config_dict(root), f, indent=4)
    cfg = Config(cfg_path)
    settings = SurveySettings(
        seed=7,
        n_passes=3,
        dithers_per_pass=2,
        sca_nside=SMALL_SCA,
        psf_nside_os=128,
        star_density_arcmin2=60.0,
        galaxy_density_arcmin2=60.0,
        object_margin_arcsec=4.0,
    )
    layout = simulate_survey(settings, target_area(cfg), os.path.join(root, "inputs"))
    return {"root": root, "config_path": cfg_path, "cfg": cfg, "settings": settings, "layout": layout}
