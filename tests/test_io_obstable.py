"""Tests of pyimcom.io.obstable (observation table reader and writer)."""

import pickle
import re

import numpy as np
import numpy.testing as npt
import pytest
from astropy.io import fits

from pyimcom.errors import InputFileError, PyIMCOMValueError
from pyimcom.instrument import FILTER_NAMES
from pyimcom.io.obstable import ObsTable, read_obs_table, write_obs_table


def _write_table(path, columns):
    """Write a binary table in HDU 1 from a list of astropy Columns."""
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns)]).writeto(path)
    return str(path)


def test_round_trip_string_filters(tmp_path):
    path = tmp_path / "obs.fits"
    write_obs_table(
        path,
        [1.0, 2.0, 3.0],
        [-1.0, -2.0, -3.0],
        [10.0, 20.0, 30.0],
        ["H158", "F184", "K213"],
        [61000.5, 61001.5, 61002.5],
        [139.8, 139.8, 60.0],
    )
    table = read_obs_table(path)
    assert len(table) == 3
    assert table.path == str(path)
    npt.assert_array_equal(table.filter_code, [2, 1, 10])
    assert table.filter_code.dtype == np.int64
    npt.assert_array_equal(table.ra_deg, [1.0, 2.0, 3.0])
    npt.assert_array_equal(table.dec_deg, [-1.0, -2.0, -3.0])
    npt.assert_array_equal(table.pa_deg, [10.0, 20.0, 30.0])
    npt.assert_array_equal(table.date_mjd, [61000.5, 61001.5, 61002.5])
    npt.assert_array_equal(table.exptime_s, [139.8, 139.8, 60.0])
    assert table.ra_deg.dtype == np.float64


def test_written_layout_matches_openuniverse_obseq(tmp_path):
    path = write_obs_table(tmp_path / "obs.fits", [0.0], [0.0], [0.0], [0])
    with fits.open(path) as hdul:
        cols = hdul[1].columns
        assert cols.names == ["date", "exptime", "ra", "dec", "pa", "filter"]
        assert cols.formats == ["D", "D", "D", "D", "D", "4A"]
        assert hdul[1].data["filter"][0] == "W146"
        assert np.isnan(hdul[1].data["date"][0])
    assert [p.name for p in tmp_path.iterdir()] == ["obs.fits"]  # no temporary file left behind


def test_integer_filter_column_and_optional_columns(tmp_path):
    path = _write_table(
        tmp_path / "obs.fits",
        [
            fits.Column(name="RA", format="D", array=[5.0, 6.0]),
            fits.Column(name="DEC", format="D", array=[7.0, 8.0]),
            fits.Column(name="PA", format="D", array=[0.0, 90.0]),
            fits.Column(name="FILTER", format="J", array=[4, 0]),
        ],
    )
    table = read_obs_table(path)
    npt.assert_array_equal(table.filter_code, [4, 0])
    npt.assert_array_equal(table.pa_deg, [0.0, 90.0])
    assert np.all(np.isnan(table.date_mjd)) and np.all(np.isnan(table.exptime_s))


def test_string_filters_are_stripped_and_case_insensitive(tmp_path):
    path = _write_table(
        tmp_path / "obs.fits",
        [fits.Column(name=n, format="D", array=[0.0, 0.0]) for n in ("ra", "dec", "pa")]
        + [fits.Column(name="filter", format="5A", array=[" y106", "J129 "])],
    )
    npt.assert_array_equal(read_obs_table(path).filter_code, [FILTER_NAMES.index("Y106"), 3])


def test_unknown_filter_name_names_file_row_and_value(tmp_path):
    path = _write_table(
        tmp_path / "obs.fits",
        [fits.Column(name=n, format="D", array=[0.0, 0.0]) for n in ("ra", "dec", "pa")]
        + [fits.Column(name="filter", format="4A", array=["H158", "X999"])],
    )
    with pytest.raises(InputFileError, match=r"obs\.fits.*row 1.*'X999'"):
        read_obs_table(path)


def test_integer_filter_out_of_range(tmp_path):
    path = _write_table(
        tmp_path / "obs.fits",
        [fits.Column(name=n, format="D", array=[0.0]) for n in ("ra", "dec", "pa")]
        + [fits.Column(name="filter", format="J", array=[11])],
    )
    with pytest.raises(InputFileError, match=r"row 0 has filter code 11"):
        read_obs_table(path)


@pytest.mark.parametrize("missing", ["ra", "dec", "pa", "filter"])
def test_missing_required_column(tmp_path, missing):
    cols = [fits.Column(name=n, format="D", array=[0.0]) for n in ("ra", "dec", "pa") if n != missing]
    if missing != "filter":
        cols.append(fits.Column(name="filter", format="J", array=[0]))
    path = _write_table(tmp_path / "obs.fits", cols)
    with pytest.raises(InputFileError, match=rf"{re.escape(path)}.*required column '{missing}'"):
        read_obs_table(path)


def test_missing_file_and_missing_table_hdu(tmp_path):
    missing = str(tmp_path / "nope.fits")
    with pytest.raises(InputFileError, match=re.escape(missing)):
        read_obs_table(missing)
    primary_only = str(tmp_path / "primary.fits")
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(primary_only)
    with pytest.raises(InputFileError, match=rf"{re.escape(primary_only)}.*HDU 1 must be a binary table"):
        read_obs_table(primary_only)


def test_not_a_fits_file(tmp_path):
    path = tmp_path / "garbage.fits"
    path.write_text("this is not FITS")
    with pytest.raises(InputFileError, match="garbage.fits"):
        read_obs_table(path)


def test_write_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(PyIMCOMValueError, match="dec has 1 rows; expected 2"):
        write_obs_table(tmp_path / "obs.fits", [0.0, 1.0], [0.0], [0.0, 0.0], ["H158", "H158"])


def test_obstable_is_frozen_readonly_and_picklable():
    table = ObsTable([1.0], [2.0], [3.0], [2], [np.nan], [139.8], "x.fits")
    with pytest.raises(ValueError):
        table.ra_deg[0] = 5.0
    with pytest.raises(AttributeError):
        table.path = "y"
    back = pickle.loads(pickle.dumps(table))
    npt.assert_array_equal(back.filter_code, [2])
    assert back.path == "x.fits" and len(back) == 1
    with pytest.raises(PyIMCOMValueError, match="dec_deg has 2 rows"):
        ObsTable([1.0], [2.0, 3.0], [3.0], [2], [np.nan], [1.0])
