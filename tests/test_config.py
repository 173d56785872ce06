"""Tests of pyimcom.config (Config: loading, derived quantities, refresh, round trip) and of the
CONFIG HDU helpers in pyimcom.io.config_hdu.

Expected numbers come from the specification (core spec §1.2-§1.5 and Appendix B) or from hand
computation, never from the code under test.
"""

import json
import math
import os
import pickle
import warnings

import numpy as np
import pytest
from astropy.io import fits

import pyimcom
from pyimcom.config import Config
from pyimcom.errors import ConfigError, InputFileError, PyIMCOMValueError, PyIMCOMWarning
from pyimcom.io.config_hdu import config_table_hdu, read_config_text

# Key order of the reference serialiser (core spec §1.5) for a configuration that uses every
# conditional keyword: INPSFDRAW, PSFSPLIT, NOUT = 2 (OUTPSF2/EXTRASMOOTH2), Iterative.
EXPECTED_ORDER = [
    "OBSFILE",
    "INDATA",
    "FILTER",
    "INPSF",
    "INPSFDRAW",
    "PSFSPLIT",
    "PORDER_IMSUBTRACT",
    "PMASK",
    "CMASK",
    "EXTRAINPUT",
    "LABNOISETHRESHOLD",
    "CTR",
    "LONPOLE",
    "BLOCK",
    "OUTSIZE",
    "FADE",
    "PAD",
    "PADSIDES",
    "STOP",
    "OUTMAPS",
    "OUT",
    "TEMPFILE",
    "INLAYERCACHE",
    "NOUT",
    "OUTPSF",
    "EXTRASMOOTH",
    "OUTPSF2",
    "EXTRASMOOTH2",
    "NPIXPSF",
    "PSFCIRC",
    "PSFNORM",
    "AMPPEN",
    "FLATPEN",
    "PSFINTERP",
    "INPAD",
    "LAKERNEL",
    "ITERRTOL",
    "ITERMAX",
    "KAPPAC",
    "UCMIN",
    "SMAX",
    "TILESCHM",
    "RERUN",
    "MOSAIC",
]


def every_keyword():
    """A configuration with every keyword (small test configuration of spec Appendix B)."""
    return {
        "OBSFILE": "data/obs.fits",
        "INDATA": ["data/images", "L2_2506"],
        "FILTER": 1,
        "INPSF": ["data/psf", "L2_2506", 6],
        "INPSFDRAW": ["data/psfdraw", "piff:run1", 6],
        "PSFSPLIT": [5.25, 8.75, 0.01, True],
        "PORDER_IMSUBTRACT": 2,
        "PMASK": "data/pmask.fits",
        "CMASK": 0.00077,
        "EXTRAINPUT": ["cstar14", "whitenoise1", "1fnoise2"],
        "LABNOISETHRESHOLD": 2.5,
        "CTR": [60.0504, -3.8],
        "LONPOLE": 240.0,
        "BLOCK": 2,
        "OUTSIZE": [4, 25, 0.04],
        "FADE": 1,
        "PAD": 0,
        "PADSIDES": "auto",
        "STOP": 0,
        "OUTMAPS": "USKTN",
        "OUT": "out/test",
        "TEMPFILE": "tmp/scratch",
        "INLAYERCACHE": "cache/test",
        "NOUT": 2,
        "OUTPSF": "GAUSSIAN",
        "EXTRASMOOTH": 0.9265329,
        "OUTPSF2": "AIRYUNOBSC",
        "EXTRASMOOTH2": 0.5,
        "NPIXPSF": 42,
        "PSFCIRC": True,
        "PSFNORM": False,
        "AMPPEN": [0.1, 2.0],
        "FLATPEN": 0.01,
        "PSFINTERP": "G4460",
        "INPAD": 0.8,
        "LAKERNEL": "Iterative",
        "ITERRTOL": 0.002,
        "ITERMAX": 25,
        "KAPPAC": [5e-4, 1e-3, 2e-3],
        "UCMIN": 1e-7,
        "SMAX": 0.4,
        "TILESCHM": "demo_tiling",
        "RERUN": "r1",
        "MOSAIC": 3,
    }


def minimal(**changes):
    """Only the required keywords (plus changes)."""
    d = {
        "OBSFILE": "obs.fits",
        "INDATA": ["in", "anlsim"],
        "FILTER": 2,
        "INPSF": ["psf", "anlsim", 8],
        "CTR": [9.55, -44.1],
        "BLOCK": 2,
        "OUTSIZE": [4, 30, 0.04],  # stamp width 1.2 arcsec >= default INPAD 1.055 arcsec
        "OUT": "out/x",
    }
    d.update(changes)
    return d


def production_h158():
    """Production H158 configuration of spec Appendix B."""
    return minimal(
        OUTSIZE=[80, 32, 0.0390625],
        PAD=2,
        PADSIDES="all",
        FADE=3,
        BLOCK=36,
        NPIXPSF=48,
        INPAD=1.24,
        KAPPAC=[6e-4],
        OUTPSF="GAUSSIAN",
    )


# ----------------------------------------------------------------------------- round trip
def test_every_keyword_round_trips_through_file(tmp_path):
    cfg = Config(json.dumps(every_keyword()))
    path = tmp_path / "copy.json"
    assert cfg.to_file(str(path)) is None
    text = path.read_text()
    again = Config(str(path))
    assert again == cfg
    assert text == cfg.to_file(None) == again.to_file(None)
    assert list(json.loads(text)) == EXPECTED_ORDER
    # every value is written back as given (nothing in this configuration triggers a side effect)
    assert json.loads(text) == every_keyword()
    assert '"INPAD": 0.8,' in text and "0.04\n" in text
    assert [p for p in os.listdir(tmp_path) if p != "copy.json"] == []  # no temporary file left


def test_angles_stay_in_arcsec_without_drift():
    cfg = Config(json.dumps(every_keyword()))
    assert cfg.dtheta_arcsec == 0.04 and cfg.inpad_arcsec == 0.8
    assert cfg.to_dict()["INPAD"] == 0.8 and cfg.to_dict()["OUTSIZE"][2] == 0.04
    assert cfg.dtheta == cfg.dtheta_deg == pytest.approx(0.04 / 3600, rel=1e-15)
    assert cfg.instamp_pad == cfg.instamp_pad_rad == pytest.approx(0.8 / 3600 * math.pi / 180, rel=1e-15)
    with pytest.raises(AttributeError):
        cfg.dtheta = 1e-5
    with pytest.raises(AttributeError):
        cfg.instamp_pad = 1e-6


def attributes(cfg, expected):
    """The attributes of ``cfg`` named by the keys of ``expected``."""
    return {name: getattr(cfg, name) for name in expected}


def test_reference_attribute_names():
    cfg = Config(json.dumps(every_keyword()))
    expected = {
        "obsfile": "data/obs.fits",
        "inpath": "data/images",
        "informat": "L2_2506",
        "use_filter": 1,
        "inpsf_path": "data/psf",
        "inpsf_format": "L2_2506",
        "inpsf_oversamp": 6,
        "inpsfdraw_path": "data/psfdraw",
        "inpsfdraw_format": "piff:run1",
        "inpsfdraw_oversamp": 6,
        "psfsplit": [5.25, 8.75, 0.01, True],
        "psfsplit_r1": 5.25,
        "psfsplit_r2": 8.75,
        "psfsplit_epsilon": 0.01,
        "psfsplit_bin2x2": True,
        "porder_imsubtract": 2,
        "permanent_mask": "data/pmask.fits",
        "cr_mask_rate": 0.00077,
        "extrainput": [None, "cstar14", "whitenoise1", "1fnoise2"],
        "n_inframe": 4,
        "labnoisethreshold": 2.5,
        "ra": 60.0504,
        "dec": -3.8,
        "lonpole": 240.0,
        "nblock": 2,
        "n1": 4,
        "n2": 25,
        "dtheta_arcsec": 0.04,
        "fade_kernel": 1,
        "postage_pad": 0,
        "pad_sides": "auto",
        "stoptile": 0,
        "outmaps": "USKTN",
        "outstem": "out/test",
        "tempfile": "tmp/scratch",
        "inlayercache": "cache/test",
        "n_out": 2,
        "outpsf": "GAUSSIAN",
        "sigmatarget": 0.9265329,
        "outpsf_extra": ["AIRYUNOBSC"],
        "sigmatarget_extra": [0.5],
        "npixpsf": 42,
        "psf_circ": True,
        "psf_norm": False,
        "amp_penalty": [0.1, 2.0],
        "flat_penalty": 0.01,
        "psf_interp": "G4460",
        "inpad_arcsec": 0.8,
        "linear_algebra": "Iterative",
        "iter_rtol": 0.002,
        "iter_max": 25,
        "uctarget": 1e-7,
        "sigmamax": 0.4,
        "tileschm": "demo_tiling",
        "rerun": "r1",
        "mosaic": 3,
    }
    assert attributes(cfg, expected) == expected
    assert isinstance(cfg.kappaC_arr, np.ndarray) and cfg.kappaC_arr.tolist() == [5e-4, 1e-3, 2e-3]


def test_defaults_of_optional_keywords():
    cfg = Config(json.dumps(minimal()))
    expected = {
        "inpsfdraw_path": None,
        "inpsfdraw_format": None,
        "inpsfdraw_oversamp": None,
        "psfsplit": "",
        "psfsplit_r1": None,
        "porder_imsubtract": -1,
        "permanent_mask": None,
        "cr_mask_rate": 0.0,
        "extrainput": [None],
        "n_inframe": 1,
        "labnoisethreshold": 3.0,
        "lonpole": 180.0,
        "fade_kernel": 3,
        "postage_pad": 0,
        "pad_sides": "auto",
        "stoptile": 0,
        "outmaps": "USKTN",
        "tempfile": None,
        "inlayercache": None,
        "n_out": 1,
        "outpsf": "AIRYOBSC",
        "sigmatarget": 1.5 / 2.355,
        "outpsf_extra": [],
        "sigmatarget_extra": [],
        "npixpsf": 48,
        "psf_circ": False,
        "psf_norm": False,
        "amp_penalty": [0.0, 0.0],
        "flat_penalty": 0.0,
        "psf_interp": "D5512",
        "inpad_arcsec": 1.055,
        "linear_algebra": "Cholesky",
        "iter_rtol": 1.5e-3,
        "iter_max": 30,
        "no_qlt_ctrl": False,
        "uctarget": 1e-6,
        "sigmamax": 0.5,
        "tileschm": "Not_specified",
        "rerun": "Not_specified",
        "mosaic": -1,
    }
    assert attributes(cfg, expected) == expected
    assert cfg.kappaC_arr.tolist() == [1e-5, 1e-4, 1e-3]
    written = cfg.to_dict()
    for absent in ("INPSFDRAW", "PSFSPLIT", "ITERRTOL", "ITERMAX", "EMPIRNQC", "OUTPSF2", "EXTRASMOOTH2",
                   "LAPRECISION"):  # fmt: skip
        assert absent not in written
    assert cfg.la_precision == "double"
    cfg.la_precision = "mixed"  # not a reference keyword: written only when it is not the default
    cfg()
    assert cfg.to_dict()["LAPRECISION"] == "mixed"
    assert written["TEMPFILE"] == "" and written["INLAYERCACHE"] == "" and written["PMASK"] is None


def test_psfsplit_with_three_elements_is_written_with_four():
    cfg = Config(json.dumps(minimal(PSFSPLIT=[5.25, 8.75, 0.01])))
    assert cfg.psfsplit_bin2x2 is False
    assert cfg.to_dict()["PSFSPLIT"] == [5.25, 8.75, 0.01, False]


def test_load_from_path_object_and_default(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(minimal()))
    assert Config(path) == Config(json.dumps(minimal()))
    default = Config("")
    default_file = os.path.join(os.path.dirname(pyimcom.__file__), "configs", "default_config.json")
    with open(default_file) as f:
        assert default.to_file(None) == f.read()  # the packaged default is its own serialisation
    assert default.informat == "anlsim"
    paths = (default.obsfile, default.inpath, default.inpsf_path, default.outstem, default.inlayercache)
    assert not any(os.path.isabs(p) for p in paths)


def test_load_from_block_fits_config_hdu(tmp_path):
    cfg = Config(json.dumps(every_keyword()))
    cfg.stoptile = 4
    hdu = config_table_hdu(cfg.to_file(None), [("FILTER", "F184", "filter name"), ("BLOCKX", 0)])
    path = tmp_path / "out_00_01.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2), dtype=np.float32)), hdu]).writeto(path)
    with fits.open(path) as hdul:
        assert hdul["CONFIG"].columns["text"].format == "A512"
        assert hdul["CONFIG"].header["FILTER"] == "F184"
        assert len(hdul["CONFIG"].data) == len(cfg.to_file(None).splitlines())
    assert read_config_text(path) == cfg.to_file(None)
    again = Config(str(path), inmode="block")
    assert again == cfg and again.stoptile == 4


def test_pickle_and_repr_round_trip():
    cfg = Config(json.dumps(every_keyword()))
    clone = pickle.loads(pickle.dumps(cfg))
    assert clone == cfg and clone.layout == cfg.layout and clone.dtheta == cfg.dtheta
    assert eval(repr(cfg), {"Config": Config}) == cfg
    assert cfg != Config(json.dumps(minimal()))


# ----------------------------------------------------------------------------- derived quantities
def test_appendix_b_small_test_configuration():
    d = every_keyword()
    cfg = Config(json.dumps(d))
    assert (cfg.Nside, cfg.NsideP, cfg.n1P, cfg.n2f, cfg.NsidePf) == (100, 100, 4, 27, 102)
    assert (cfg.nside_px, cfg.nside_padded_px, cfg.n1_padded, cfg.n2_faded_px, cfg.nside_accum_px) == (
        100,
        100,
        4,
        27,
        102,
    )
    assert cfg.m_out_px == 729 and cfg.layout.m_out_px == 729
    assert (cfg.psf_nsamp, cfg.psf_nc, cfg.psf_nfft) == (251, 125, 504)
    assert cfg.dscale_out_px == pytest.approx(0.458333, abs=1e-6)
    assert cfg.inpad_out_px == pytest.approx(20.0, rel=1e-12)
    assert cfg.search_radius_deg == pytest.approx(0.089111, abs=1e-6)


def test_appendix_b_production_h158_configuration():
    cfg = Config(json.dumps(production_h158()))
    assert (cfg.Nside, cfg.NsideP, cfg.n1P, cfg.n2f, cfg.NsidePf) == (2560, 2688, 84, 38, 2694)
    assert cfg.m_out_px == 1444
    assert (cfg.psf_nsamp, cfg.psf_nc, cfg.psf_nfft) == (383, 191, 768)
    assert cfg.dscale_out_px == pytest.approx(0.352, rel=1e-12)
    assert cfg.inpad_out_px == pytest.approx(31.744, rel=1e-12)
    assert cfg.search_radius_deg == pytest.approx(0.108949, abs=1e-6)
    # 0.08833 deg is the SCA half-diagonal 4088 * 0.11" / sqrt(2)
    assert cfg.search_radius_deg - 2688 * 0.0390625 / 3600 / math.sqrt(2) == pytest.approx(
        4088 * 0.11 / 3600 / math.sqrt(2), rel=1e-12
    )


def test_refresh_after_editing_n2_updates_derived_sizes():
    cfg = Config(json.dumps(every_keyword()))
    cfg.n2 = 20
    assert cfg.Nside == 100  # derived sizes change only on refresh, as in the reference
    cfg()
    assert (cfg.Nside, cfg.NsideP, cfg.n2f, cfg.NsidePf, cfg.m_out_px) == (80, 80, 22, 82, 484)
    assert cfg.layout.n2 == 20 and cfg.to_dict()["OUTSIZE"] == [4, 20, 0.04]
    cfg.n1 = 5
    with pytest.raises(ConfigError, match=r"OUTSIZE\[0\] \(n1\).*got 5"):
        cfg()


def test_stoptile_is_written_as_stop():
    cfg = Config(json.dumps(minimal()))
    cfg.stoptile = 4
    assert json.loads(cfg.to_file(None))["STOP"] == 4


# ----------------------------------------------------------------------------- refresh side effects
@pytest.mark.parametrize(
    ("changes", "outmaps", "nqc"),
    [
        ({"OUTMAPS": "USTKN", "KAPPAC": [5e-4]}, "USTN", False),  # one kappa: no K map
        ({"OUTMAPS": "USKTN", "KAPPAC": [1e-4, 1e-3]}, "USKTN", False),  # several: K kept
        ({"OUTMAPS": "USKTN", "LAKERNEL": "Empirical", "KAPPAC": [1e-4, 1e-3]}, "USN", False),
        ({"OUTMAPS": "USKTN", "LAKERNEL": "Empirical", "EMPIRNQC": True}, "N", True),
        ({"OUTMAPS": "KTN", "LAKERNEL": "Empirical"}, "N", True),  # neither U nor S: EMPIRNQC set
    ],
)
def test_outmaps_side_effects(changes, outmaps, nqc):
    cfg = Config(json.dumps(minimal(**changes)))
    assert cfg.outmaps == outmaps and cfg.no_qlt_ctrl is nqc
    written = json.loads(cfg.to_file(None))
    assert written["OUTMAPS"] == outmaps
    assert ("EMPIRNQC" in written) == (cfg.linear_algebra == "Empirical")
    if "EMPIRNQC" in written:
        assert written["EMPIRNQC"] is nqc
    assert Config(cfg.to_file(None)) == cfg  # the side effects are idempotent


# ----------------------------------------------------------------------------- keywords on input
def test_itertol_alias():
    d = minimal(LAKERNEL="Iterative", ITERTOL=2e-3)
    cfg = Config(json.dumps(d))
    assert cfg.iter_rtol == 2e-3
    written = cfg.to_dict()
    assert written["ITERRTOL"] == 2e-3 and "ITERTOL" not in written
    assert Config(json.dumps(minimal(LAKERNEL="Iterative", ITERTOL=2e-3, ITERRTOL=2e-3))).iter_rtol == 2e-3
    with pytest.raises(ConfigError, match=r"ITERTOL.*ITERRTOL.*0\.002.*0\.003"):
        Config(json.dumps(minimal(LAKERNEL="Iterative", ITERTOL=2e-3, ITERRTOL=3e-3)))


def test_unknown_keywords_warn_once_naming_them():
    with pytest.warns(PyIMCOMWarning, match=r"FOOBAR.*OUTPSF3") as record:
        cfg = Config(json.dumps(minimal(FOOBAR=1, OUTPSF3="GAUSSIAN")))
    assert len([w for w in record if issubclass(w.category, PyIMCOMWarning)]) == 1
    assert "FOOBAR" not in cfg.to_dict() and "OUTPSF3" not in cfg.to_dict()


def test_destriping_keys_are_accepted_silently_and_not_written():
    destripe = {
        "DSMODEL": ["constant", 4088],
        "DSOUT": ["d/", "s"],
        "CGMODEL": ["FR", 10, 1e-3],
        "DSCOST": ["quadratic", 1.0, 0.5],
        "DSOBSFILE": "t_",
        "DSNOISEFILE": False,
        "DSRESTART": None,
        "GAINDIR": False,
        "AMPCOLS": [None, 0.0],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = Config(json.dumps(minimal(**destripe)))
    assert not set(destripe) & set(cfg.to_dict())


def test_source_errors(tmp_path):
    with pytest.raises(ConfigError, match="interactive"):
        Config(None)
    with pytest.raises(InputFileError, match="no_such.json"):
        Config(str(tmp_path / "no_such.json"))
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config('{"OBSFILE": ')
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="bad.json.*JSON object"):
        Config(str(bad))
    with pytest.raises(ConfigError, match="inmode"):
        Config(json.dumps(minimal()), inmode="tile")
    with pytest.raises(PyIMCOMValueError, match="destination"):
        Config(json.dumps(minimal())).to_file("")


# ----------------------------------------------------------------------------- CONFIG HDU
def test_config_hdu_rejects_long_lines():
    text = "{\n" + '    "A": 1,\n' + '    "OBSFILE": "' + "x" * 600 + '"\n}'
    with pytest.raises(PyIMCOMValueError, match=r"line 3 is 617 characters.*512"):
        config_table_hdu(text)
    cfg = Config(json.dumps(minimal(OBSFILE="/" + "d" * 520)))
    with pytest.raises(PyIMCOMValueError, match=r"line 2 is \d+ characters.*512"):
        config_table_hdu(cfg.to_file(None))
    config_table_hdu("x" * 512)  # exactly at the limit is fine


def test_read_config_text_errors(tmp_path):
    with pytest.raises(InputFileError, match="missing.fits"):
        read_config_text(tmp_path / "missing.fits")
    path = tmp_path / "noconfig.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    with pytest.raises(InputFileError, match=r"noconfig\.fits.*CONFIG"):
        read_config_text(path)
    with pytest.raises(InputFileError, match=r"noconfig\.fits"):
        Config(str(path), inmode="block")
