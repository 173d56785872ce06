"""Validation rules of pyimcom.config.Config: one case per rule, each checking that the ConfigError
message names the keyword (and, where useful, the value received and what is allowed)."""

import json

import pytest

from pyimcom.config import Config
from pyimcom.errors import ConfigError


def base(**changes):
    """A valid configuration: n2 * dtheta = 30 * 0.04 = 1.2 arcsec >= INPAD = 1.055 arcsec."""
    d = {
        "OBSFILE": "obs.fits",
        "INDATA": ["in", "anlsim"],
        "FILTER": 2,
        "INPSF": ["psf", "anlsim", 8],
        "CTR": [9.55, -44.1],
        "BLOCK": 2,
        "OUTSIZE": [4, 30, 0.04],
        "OUT": "out/x",
    }
    d.update(changes)
    return d


def load(d):
    return Config(json.dumps(d))


REQUIRED = ["OBSFILE", "INDATA", "FILTER", "INPSF", "CTR", "BLOCK", "OUTSIZE", "OUT"]


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_keyword(key):
    d = base()
    del d[key]
    with pytest.raises(ConfigError, match=rf"missing required keyword\(s\) {key} \(required: OBSFILE"):
        load(d)


# (changes, regular expression the message must match)
INVALID = {
    # types: ints are ints (not bools, not floats), strings are strings, lists have the right length
    "filter float": ({"FILTER": 2.0}, r"^FILTER must be an imaging filter code.*got 2\.0"),
    "filter bool": ({"FILTER": True}, r"^FILTER .*got True"),
    "block string": ({"BLOCK": "2"}, r"^BLOCK must be an integer >= 1; got '2'"),
    "stop bool": ({"STOP": True}, r"^STOP must be an integer >= 0; got True"),
    "obsfile type": ({"OBSFILE": 5}, r"^OBSFILE must be a non-empty path string; got 5"),
    "out empty": ({"OUT": ""}, r"^OUT must be a non-empty path stem; got ''"),
    "tempfile type": ({"TEMPFILE": 3}, r"^TEMPFILE must be .*path string; got 3"),
    "pmask type": ({"PMASK": ["a"]}, r"^PMASK must be .*path string; got \['a'\]"),
    "psfcirc int": ({"PSFCIRC": 1}, r"^PSFCIRC must be true or false; got 1"),
    "empirnqc str": ({"EMPIRNQC": "yes"}, r"^EMPIRNQC must be true or false; got 'yes'"),
    "smax nan": ({"SMAX": float("nan")}, r"^SMAX must be a number > 0; got nan"),
    "lonpole str": ({"LONPOLE": "180"}, r"^LONPOLE must be a finite number; got '180'"),
    "amppen length": ({"AMPPEN": [0.0]}, r"^AMPPEN must be a list of 2 elements"),
    "tileschm type": ({"TILESCHM": 1}, r"^TILESCHM must be a string; got 1"),
    "mosaic float": ({"MOSAIC": 1.5}, r"^MOSAIC must be an integer; got 1\.5"),
    # OUTSIZE
    "n1 odd": ({"OUTSIZE": [5, 30, 0.04]}, r"^OUTSIZE\[0\] \(n1\) must be an even integer >= 2.*got 5"),
    "n1 zero": ({"OUTSIZE": [0, 30, 0.04]}, r"^OUTSIZE\[0\] \(n1\) .*got 0"),
    "n1 float": ({"OUTSIZE": [4.0, 30, 0.04]}, r"^OUTSIZE\[0\] \(n1\) .*got 4\.0"),
    "n2 zero": ({"OUTSIZE": [4, 0, 0.04]}, r"^OUTSIZE\[1\] \(n2\) must be an integer >= 1; got 0"),
    "dtheta zero": ({"OUTSIZE": [4, 30, 0]}, r"^OUTSIZE\[2\] \(dtheta \[arcsec\]\) must be a number > 0"),
    "outsize short": ({"OUTSIZE": [4, 30]}, r"^OUTSIZE must be a list of 3 elements \[n1, n2, dtheta"),
    "block zero": ({"BLOCK": 0}, r"^BLOCK must be an integer >= 1; got 0"),
    # INPAD, FADE, PAD, PADSIDES
    "inpad too large": ({"INPAD": 1.3}, r"^INPAD must be <= one stamp width n2\*dtheta = 30\*0\.04 = 1\.2"),
    "inpad negative": ({"INPAD": -0.1}, r"^INPAD must be a number >= 0.*got -0\.1"),
    "fade negative": ({"FADE": -1}, r"^FADE must be an integer >= 0; got -1"),
    "fade too wide": ({"FADE": 15}, r"^FADE .*n2 > 2\*FADE.*= 30; got 15"),
    "pad negative": ({"PAD": -1}, r"^PAD must be an integer >= 0; got -1"),
    "padsides word": ({"PADSIDES": "some"}, r"^PADSIDES must be 'all', 'auto', 'none' or .*R; got 'some'"),
    "padsides empty": ({"PADSIDES": ""}, r"^PADSIDES .*got ''"),
    "padsides lower": ({"PADSIDES": "bt"}, r"^PADSIDES .*got 'bt'"),
    "odd auto": ({"PAD": 1}, r"^PADSIDES = 'auto' with PAD = 1 computes 5 stamp rows in block \(0, 0\)"),
    "odd bottom only": ({"PAD": 1, "PADSIDES": "BLR"}, r"^PADSIDES = 'BLR' with PAD = 1 computes 5 stamp r"),
    "odd left only": ({"PAD": 3, "PADSIDES": "BTL"}, r"^PADSIDES = 'BTL' with PAD = 3 computes 7 stamp co"),
    # enums
    "lakernel": ({"LAKERNEL": "LU"}, r"^LAKERNEL must be one of 'Eigen', 'Cholesky', 'Iterative', 'Empiric"),
    "outpsf": ({"OUTPSF": "AIRYUNOSBC"}, r"^OUTPSF must be one of 'GAUSSIAN', 'AIRYOBSC', 'AIRYUNOBSC'; got"),
    "outpsf2": ({"NOUT": 2, "OUTPSF2": "GAUSS"}, r"^OUTPSF2 must be one of 'GAUSSIAN'.*got 'GAUSS'"),
    "extrasmooth2": ({"NOUT": 2, "EXTRASMOOTH2": "x"}, r"^EXTRASMOOTH2 must be a number >= 0"),
    "extrasmooth": ({"EXTRASMOOTH": -1.0}, r"^EXTRASMOOTH must be a number >= 0"),
    "psfinterp": ({"PSFINTERP": "D55"}, r"^PSFINTERP must be one of 'D5512', 'G4460'; got 'D55'"),
    "indata format": (
        {"INDATA": ["in", "dc2sim"]},
        r"^INDATA\[1\] \(format\) must be one of 'anlsim', "
        r"'dc2_imsim', 'L2_2506'; got 'dc2sim'",
    ),
    "indata string": ({"INDATA": "in"}, r"^INDATA must be a list of 2 elements \[path, format\]"),
    "inpsf format": ({"INPSF": ["p", "piffx", 8]}, r"^INPSF\[1\] \(format\) .*'piff' or 'piff:<prefix>'"),
    "inpsf piff empty": ({"INPSF": ["p", "piff:", 8]}, r"^INPSF\[1\] \(format\) .*got 'piff:'"),
    "inpsf ov zero": ({"INPSF": ["p", "anlsim", 0]}, r"^INPSF\[2\] \(oversampling\) must be a positive int"),
    "inpsf ov float": ({"INPSF": ["p", "anlsim", 8.0]}, r"^INPSF\[2\] \(oversampling\) .*got 8\.0"),
    "inpsfdraw": ({"INPSFDRAW": ["p", "fits", 8]}, r"^INPSFDRAW\[1\] \(format\) .*got 'fits'"),
    "outmaps": ({"OUTMAPS": "USKX"}, r"^OUTMAPS must be a string of the letters U, S, K, T, N; got 'USKX'"),
    # KAPPAC
    "kappac empty": ({"KAPPAC": []}, r"^KAPPAC must be a non-empty list of numbers >= 0.*ascending"),
    "kappac descending": ({"KAPPAC": [1e-3, 1e-4]}, r"^KAPPAC .*ascending order; got \[0\.001, 0\.0001\]"),
    "kappac repeated": ({"KAPPAC": [1e-4, 1e-4]}, r"^KAPPAC .*strictly ascending"),
    "kappac negative": ({"KAPPAC": [-1e-4]}, r"^KAPPAC .*got \[-0\.0001\]"),
    "kappac scalar": ({"KAPPAC": 1e-4}, r"^KAPPAC .*got 0\.0001"),
    # FILTER, CTR, other ranges
    "filter prism": (
        {"FILTER": 7},
        r"^FILTER must be an imaging filter code, one of 0 \(W146\), 1 \(F184\), "
        r"2 \(H158\).*10 \(K213\); got 7 = PRSM, not an imaging filter",
    ),
    "filter range": ({"FILTER": 11}, r"^FILTER .*got 11$"),
    "dec range": ({"CTR": [9.55, -95.0]}, r"^CTR\[1\] \(Dec \[deg\]\) must be a number in \[-90, 90\]"),
    "ctr short": ({"CTR": [9.55]}, r"^CTR must be a list of 2 elements"),
    "nout zero": ({"NOUT": 0}, r"^NOUT must be an integer >= 1; got 0"),
    "npixpsf zero": ({"NPIXPSF": 0}, r"^NPIXPSF must be an even integer >= 2.*got 0"),
    "npixpsf odd": ({"NPIXPSF": 47}, r"^NPIXPSF must be an even integer >= 2.*got 47"),
    "itermax zero": ({"ITERMAX": 0}, r"^ITERMAX must be an integer >= 1; got 0"),
    "laprecision": (
        {"LAPRECISION": "single"},
        r"^LAPRECISION must be one of 'double', 'full', 'mixed'; got 'single'",
    ),
    "iterrtol zero": ({"ITERRTOL": 0.0}, r"^ITERRTOL must be a number > 0; got 0\.0"),
    "cmask one": ({"CMASK": 1.0}, r"^CMASK must be a probability in \[0, 1\); got 1\.0"),
    "cmask negative": ({"CMASK": -0.1}, r"^CMASK must be a probability"),
    "extrainput string": ({"EXTRAINPUT": "gsstar14"}, r"^EXTRAINPUT must be a list of non-empty layer-name"),
    "extrainput number": ({"EXTRAINPUT": ["gsstar14", 1]}, r"^EXTRAINPUT .*got \['gsstar14', 1\]"),
    "porder": ({"PORDER_IMSUBTRACT": -2}, r"^PORDER_IMSUBTRACT must be an integer >= -1; got -2"),
    "psfsplit short": ({"PSFSPLIT": [5.0]}, r"^PSFSPLIT must be .*\[r1, r2, epsilon"),
    "psfsplit order": ({"PSFSPLIT": [8.0, 5.0, 0.01]}, r"^PSFSPLIT .*0 <= r1 < r2.*got \[8\.0, 5\.0, 0\.01"),
    "psfsplit bin2x2": ({"PSFSPLIT": [5.0, 8.0, 0.01, 1]}, r"^PSFSPLIT\[3\] \(bin2x2\) must be true or f"),
}


@pytest.mark.parametrize(("changes", "pattern"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_value_is_rejected_naming_the_keyword(changes, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load(base(**changes))


VALID = {
    "inpad at the stamp width": {"OUTSIZE": [48, 50, 0.025], "INPAD": 1.25},  # reference paper III
    "kappa zero": {"KAPPAC": [0.0]},  # reference Iterative/Empirical configurations
    "odd pad on both sides": {"PAD": 1, "PADSIDES": "BT"},
    "odd pad all": {"PAD": 1, "PADSIDES": "all"},
    "odd pad none": {"PAD": 1, "PADSIDES": "none"},
    "odd pad auto 1x1": {"PAD": 1, "BLOCK": 1},  # auto pads all four sides of a 1x1 mosaic (Q7 fixed)
    "even pad auto": {"PAD": 2},
    "piff": {"INPSF": ["p", "piff", 8]},
    "piff prefix": {"INPSF": ["p", "piff:psf_", 8]},
    "float accepts int": {"LONPOLE": 240, "EXTRASMOOTH": 1},
    "empty outmaps": {"OUTMAPS": ""},
    "psfsplit empty string": {"PSFSPLIT": ""},
    "pmask null": {"PMASK": None},
    "mixed precision": {"LAPRECISION": "mixed"},
}


@pytest.mark.parametrize("changes", list(VALID.values()), ids=list(VALID))
def test_valid_edge_cases_are_accepted(changes):
    cfg = load(base(**changes))
    assert Config(cfg.to_file(None)) == cfg


def test_float_keywords_store_floats():
    cfg = load(base(LONPOLE=240, EXTRASMOOTH=1))
    assert isinstance(cfg.lonpole, float) and cfg.lonpole == 240.0
    assert isinstance(cfg.sigmatarget, float)


def test_edits_are_validated_by_refresh():
    cfg = load(base())
    cfg.pad_sides = "Q"
    with pytest.raises(ConfigError, match=r"^PADSIDES .*got 'Q'"):
        cfg()
    cfg.pad_sides = "all"
    cfg.n_out = 2  # without an extra target PSF
    with pytest.raises(ConfigError, match=r"^NOUT must be 1 \+ the number of extra target PSFs"):
        cfg()
    cfg.outpsf_extra, cfg.sigmatarget_extra = ["GAUSSIAN"], [0.5]
    cfg()
    assert cfg.to_dict()["OUTPSF2"] == "GAUSSIAN"
    cfg.extrainput = ["gsstar14"]  # reference convention: element 0 is None (science layer)
    with pytest.raises(ConfigError, match=r"^extrainput \(EXTRAINPUT\) must be a list starting with None"):
        cfg()
