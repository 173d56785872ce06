"""Physics of the coadd (core Appendix C): a point source coadds to the target PSF; kernels agree.

A noise-free survey holds one unit-flux star; a 1-block mosaic (4 x 4 stamps of 25 output pixels of
0.04", a 100 x 100 image as in the reference's test) is coadded with production-like Cholesky
settings and compared with the analytic target Gaussian at the star's position.  As in the
reference's test the PSF does not vary across an SCA (aberration-free optics): the engine evaluates
each input PSF at its PSF-group centre, and the test SCAs are 16 times smaller than Roman's, which
would exaggerate the field variation 16-fold.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pyimcom.coadd import Block
from pyimcom.config import Config
from pyimcom.io.outimage import OutImage
from pyimcom.settings import target_area
from pyimcom.simulate import SurveySettings, simulate_survey
from pyimcom.simulate.scene import Catalog

SIGMA_NATIVE = 0.9265329  # target Gaussian sigma [native pixels] (Appendix C)


def _config(root: str, **overrides) -> Config:
    d = {
        "OBSFILE": f"{root}/in/obs.fits", "INDATA": [f"{root}/in", "anlsim"], "FILTER": 2,
        "INPSF": [f"{root}/in/psf", "anlsim", 8], "EXTRAINPUT": [], "CTR": [60.0, -4.0], "BLOCK": 1,
        "OUTSIZE": [4, 25, 0.04], "FADE": 1, "PAD": 0, "OUT": f"{root}/out/star", "OUTPSF": "GAUSSIAN",
        "EXTRASMOOTH": SIGMA_NATIVE, "NPIXPSF": 32, "INPAD": 0.8, "KAPPAC": [5e-4], "OUTMAPS": "USKTN",
    }  # fmt: skip
    d.update(overrides)
    return Config(json.dumps(d))


@pytest.fixture(scope="module")
def star_survey(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("star"))
    cfg = _config(root)
    settings = SurveySettings(seed=3, n_passes=2, dithers_per_pass=2, sca_nside=256, psf_nside_os=128,
                              object_margin_arcsec=1.0, aberration_waves=0.0)  # fmt: skip
    tgt = target_area(cfg)
    # the star sits off-centre in the block, away from any stamp boundary
    ((ra, dec),) = tgt.geometry.block_wcs(0, 0).all_pix2world([[45.3, 52.6]], 0)
    one = np.ones(1)
    star = Catalog(one * ra, one * dec, np.zeros(1, int), one * 1.0, 0 * one, 0 * one, 0 * one)
    layout = simulate_survey(settings, tgt, f"{root}/in", noise=False, catalog=star)
    assert len(layout.images) == 4
    return root, (float(ra), float(dec))


def _run(root, name, **overrides) -> OutImage:
    cfg = _config(root, OUT=f"{root}/out/{name}", **overrides)
    path = Block(cfg=cfg, this_sub=0).path
    return OutImage(path)


@pytest.fixture(scope="module")
def cholesky(star_survey):
    return _run(star_survey[0], "chol")


def test_point_source_coadds_to_the_target_gaussian(star_survey, cholesky):
    _, (ra, dec) = star_survey
    img = cholesky.get_coadded_layer(0).astype(np.float64)
    x0, y0 = cholesky.wcs().all_world2pix([[ra, dec]], 0)[0]
    dtheta, s_in = 0.04, 0.11
    sigma_out = SIGMA_NATIVE * s_in / dtheta
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]  # 100 x 100 as in Appendix C
    model = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma_out**2)) / (2 * np.pi * sigma_out**2)
    model /= (dtheta / s_in) ** 2
    amp = float(np.sum(img * model) / np.sum(model * model))
    resid = img - amp * model
    assert amp == pytest.approx(1.0, abs=5e-4)
    assert np.sum(resid**2) / np.sum((amp * model) ** 2) < 1e-5


def test_maps_are_in_range(cholesky):
    # FIDELITY band of this scenario (4 exposures, kappa/C = 5e-4, INPAD 0.8"): median 6.8e-7
    uc = cholesky.get_output_map("U")
    assert np.all(uc > 3e-8) and 3e-7 < np.median(uc) < 1.5e-6 and np.max(uc) < 1e-5
    sigma = cholesky.get_output_map("S")
    assert np.all((sigma > 0.01) & (sigma < 0.5))
    tsum = cholesky.get_output_map("T")
    assert np.allclose(tsum, 1.0, atol=0.02)  # total weight ~ 1 (flux conservation)
    neff = cholesky.get_output_map("N")
    assert np.all((neff > 3.9) & (neff <= 4.0 * (1 + 1e-5)))  # 4 exposures, equal weights
    w = cholesky.inweight()[0]
    assert w.shape == (4, 4, 4) and np.allclose(w.sum(axis=0), 1.0, atol=0.02)


def test_multi_kappa_agrees_with_single_kappa(star_survey, cholesky):
    multi = _run(star_survey[0], "multi", KAPPAC=[5e-4, 1e-3, 2e-3])
    d = multi.get_coadded_layer(0).astype(float) - cholesky.get_coadded_layer(0)
    assert np.std(d) < 5e-6 and abs(np.mean(d)) < 1e-6
    assert "KAPPA" in multi.hdu_names


def test_empirical_and_iterative_agree_with_cholesky(star_survey, cholesky):
    ref = cholesky.get_coadded_layer(0).astype(float)
    emp = _run(star_survey[0], "emp", LAKERNEL="Empirical").get_coadded_layer(0)
    d = emp - ref
    assert np.std(d) < 0.91 * np.std(ref) and abs(np.mean(d)) < 2e-4
    it = _run(star_survey[0], "iter", LAKERNEL="Iterative", ITERMAX=2, KAPPAC=[0.0], INPAD=0.6)
    d = it.get_coadded_layer(0) - ref
    assert np.std(d) < 2.5e-3 and abs(np.mean(d)) < 2e-4


def test_block_file_format_and_config_round_trip(star_survey, cholesky):
    from astropy.io import fits

    with fits.open(cholesky.path) as hdul:
        names = [h.name for h in hdul]
        assert names == [
            "PRIMARY",
            "CONFIG",
            "INDATA",
            "INWEIGHT",
            "INWTFLAT",
            "FIDELITY",
            "SIGMA",
            "INWTSUM",
            "EFFCOVER",
        ]  # fmt: skip  (K is dropped with one kappa)
        assert hdul[0].data.shape == (1, 1, 100, 100) and hdul[0].data.dtype.name.startswith("float32")
        assert hdul["CONFIG"].header["BLOCKX"] == 0 and hdul["CONFIG"].header["FILTER"] == "H158"
        assert hdul["FIDELITY"].header["UNIT"] == "-0.2mB"
    rebuilt = Config(cholesky.path, inmode="block")
    assert rebuilt == _config(star_survey[0], OUT=f"{star_survey[0]}/out/chol")


def test_stop_computes_only_the_first_stamps(star_survey):
    root = star_survey[0]
    cfg = _config(root, OUT=f"{root}/out/stop")
    cfg.stoptile = 4
    out = OutImage(Block(cfg=cfg, this_sub=0).path)
    img = out.get_coadded_layer(0)
    # stamps (1..2, 1..2) only; their FADE pixels reach block pixel 50
    assert np.any(img[:50, :50] != 0) and np.all(img[51:, :] == 0) and np.all(img[:, 51:] == 0)
    assert Config(out.path, inmode="block").stoptile == 4


def test_white_noise_layer_coadds_with_the_sigma_map_variance(star_survey):
    root = star_survey[0]
    out = _run(root, "wn", EXTRAINPUT=["whitenoise1", "WhiteNoise2"], INLAYERCACHE=f"{root}/cache/wn")
    assert out.layer_names == ["SCI", "whitenoise1", "WhiteNoise2"]
    sigma = out.get_output_map("S")
    for k in (1, 2):
        noise = out.get_coadded_layer(k).astype(float)
        # per-pixel variance of a unit white-noise input is sum_i T^2 = SIGMA (pixels are correlated,
        # so the image average scatters by a few per cent)
        assert np.mean(noise**2) == pytest.approx(np.mean(sigma), rel=0.15)
    assert not np.allclose(out.get_coadded_layer(1), out.get_coadded_layer(2))
    # the cache files were written, with the layer list in the header
    cached = sorted(os.listdir(f"{root}/cache"))
    assert len(cached) == 8 and sum(name.endswith("_mask.fits") for name in cached) == 4


def test_cstar_and_gsstar_layers_agree_on_the_simulated_survey(star_survey):
    """D5512 (cstar) and GalSim Lanczos-32 (gsstar) drawings of the same stars agree to < 5e-4 of the peak."""
    from pyimcom.layers.build import build_stack
    from pyimcom.settings import input_image, layer_settings

    root = star_survey[0]
    cfg = _config(root, EXTRAINPUT=["cstar17", "gsstar17"])
    name = sorted(os.listdir(f"{root}/in/simple"))[0]
    obsid, sca = (int(v) for v in name[:-5].split("_")[-2:])
    stack, mask = build_stack(input_image(cfg, obsid, sca), layer_settings(cfg))
    cstar, gsstar = stack[1].astype(float), stack[2].astype(float)
    assert cstar.sum() > 100  # n = 17: a star every ~1.6", hundreds on the SCA
    assert np.abs(cstar - gsstar).max() < 5e-4 * cstar.max()
    assert mask.all()
