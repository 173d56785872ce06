"""The stamp systems of the engine, entry by entry, against a direct computation (core §4.4).

`SystemBuilder` assembles A from cached InStamp-pair sub-matrices (one numba kernel per pair, then a
tiled gather with mirroring) and b from cached input-target overlaps.  Here random entries of a
stamp's A and b are recomputed without any cache or gather: the two pixels' PSF transforms at their
groups' centres, their cross-overlap, and one interpolation at the pixels' lag.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from pyimcom.coadd import BlockJob
from pyimcom.config import Config
from pyimcom.engine.partition import partition_block, select_stamp_pixels
from pyimcom.engine.system import SystemBuilder
from pyimcom.interp import interpolate_points
from pyimcom.psf.overlap import cross_overlap
from pyimcom.psf.sampling import PSF_PAD
from pyimcom.settings import target_area
from pyimcom.simulate import SurveySettings, simulate_survey


@pytest.fixture(scope="module")
def tiny_survey(tmp_path_factory):
    """A 1-block mosaic of 4 x 4 stamps of 1" over 4 small exposures (a few thousand pixels a stamp)."""
    root = str(tmp_path_factory.mktemp("system"))
    cfg = Config(json.dumps({
        "OBSFILE": f"{root}/in/obs.fits", "INDATA": [f"{root}/in", "anlsim"], "FILTER": 2,
        "INPSF": [f"{root}/in/psf", "anlsim", 8], "EXTRAINPUT": [], "CTR": [60.0, -4.0], "BLOCK": 1,
        "OUTSIZE": [4, 25, 0.04], "FADE": 1, "PAD": 0, "OUT": f"{root}/out/sys", "OUTPSF": "GAUSSIAN",
        "EXTRASMOOTH": 0.93, "NPIXPSF": 32, "INPAD": 0.8, "KAPPAC": [5e-4],
    }))  # fmt: skip
    settings = SurveySettings(seed=4, n_passes=2, dithers_per_pass=2, sca_nside=256, psf_nside_os=128,
                              object_margin_arcsec=1.0)  # fmt: skip
    simulate_survey(settings, target_area(cfg), f"{root}/in")
    return cfg


def _builder(cfg, window, reuse_buffers=False, precision="double"):
    job = BlockJob.from_config(cfg, 0, 0)
    geo = job.geometry
    stamps = geo.processing_order(0, 0)
    pixels, used = partition_block(job.images, geo, 0, 0, geo.instamps_needed(stamps), job.cfg.n_inframe)
    settings = dataclasses.replace(job.settings, window=window, precision=precision)
    relevant = [job.images[k] for k in used]
    return SystemBuilder(pixels, relevant, geo, 0, 0, stamps, settings, reuse_buffers=reuse_buffers), stamps


def _pixel_instamp(builder, index):
    """InStamp number of each block pixel in ``index``."""
    owner = np.full(builder.pixels.x.size, -1)
    for inst in range(builder.n_side**2):
        owner[builder._inst_slice(inst)] = inst
    return owner[index]


def _direct_overlap(builder, g1, k1, g2, k2_or_target):
    """Padded overlap of image k1's PSF at group g1 with image k2's at g2 (or a target PSF)."""
    nc = builder.settings.nc
    f1 = builder._group_ffts(g1)[np.searchsorted(builder.members(g1), k1)]
    if g2 is None:
        f2 = builder._target_ft[k2_or_target]
    else:
        f2 = builder._group_ffts(g2)[np.searchsorted(builder.members(g2), k2_or_target)]
    return np.pad(cross_overlap(f1, f2, nc), PSF_PAD)


# window 0: every sub-matrix is recomputed when needed again; reused buffers hold earlier stamps' data
@pytest.mark.parametrize(("window", "reuse"), [(8, False), (0, True)])
def test_stamp_system_entries_match_a_direct_computation(tiny_survey, window, reuse):
    builder, stamps = _builder(tiny_survey, window, reuse)
    st, px = builder.settings, builder.pixels
    s = stamps.index((2, 2))  # an inner stamp: all 9 InStamps hold pixels
    for earlier in range(s):  # walk the schedule so that the caches evict and recompute as in a run
        builder.system(earlier)
        builder.advance(earlier)
    sys_ = builder.system(s)
    n = sys_.index.size
    assert n > 100
    np.testing.assert_array_equal(sys_.A, sys_.A.T)
    inst = _pixel_instamp(builder, sys_.index)
    assert len(np.unique(inst)) == 9
    group = np.array([builder._group(a) for a in inst])
    image = px.image[sys_.index]
    rng = np.random.default_rng(5)
    pairs = rng.integers(0, n, (60, 2))
    pairs[:10, 1] = pairs[:10, 0]  # diagonal entries
    for p, q in pairs:
        grid = _direct_overlap(builder, group[p], image[p], group[q], image[q])
        lag = (sys_.pos_in[p] - sys_.pos_in[q]) / st.dscale + builder._off
        expected = interpolate_points(grid, lag[0], lag[1], st.interp_kernel)
        assert sys_.A[p, q] == pytest.approx(float(expected), rel=1e-12, abs=1e-15 * abs(sys_.A).max())
    m = sys_.pos_out.shape[0]
    for p, a in zip(rng.integers(0, n, 30), rng.integers(0, m, 30), strict=True):
        grid = _direct_overlap(builder, group[p], image[p], None, 0)
        lag = (sys_.pos_in[p] - sys_.pos_out[a]) / st.dscale + builder._off
        expected = interpolate_points(grid, lag[0], lag[1], st.interp_kernel)
        assert sys_.b[0, a, p] == pytest.approx(float(expected), rel=1e-12, abs=1e-15 * abs(sys_.b).max())


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("mirror", [False, True])
def test_gather_block_matches_fancy_indexing(transpose, mirror):
    from pyimcom._kernels.assemble import gather_block

    rng = np.random.default_rng(1)
    sub = rng.standard_normal((70, 90))
    S = sub.T if transpose else sub
    rows = np.sort(rng.choice(S.shape[0], 45, replace=False)).astype(np.int64)
    cols = np.sort(rng.choice(S.shape[1], 67, replace=False)).astype(np.int64)
    out = np.full((150, 150), np.nan)
    gather_block(sub, rows, cols, transpose, out, 3, 70, mirror)
    block = S[np.ix_(rows, cols)]
    np.testing.assert_array_equal(out[3:48, 70:137], block)
    if mirror:
        np.testing.assert_array_equal(out[70:137, 3:48], block.T)
    written = np.zeros(out.shape, bool)
    written[3:48, 70:137] = True
    written[70:137, 3:48] |= mirror
    assert np.all(np.isnan(out[~written]))


def test_cache_misses_replay_the_cache():
    from pyimcom.engine.cache import ScheduledCache

    rng = np.random.default_rng(3)
    keys = [set(rng.choice(12, 4, replace=False).tolist()) for _ in range(30)]
    counts = {}
    for window in (0, 2, 5, 40):
        computed, now = [], [0]
        record = lambda k, c=computed, t=now: c.append((t[0], k))  # noqa: E731
        cache = ScheduledCache(ScheduledCache.schedule(keys), record, window)
        for s, ks in enumerate(keys):
            now[0] = s
            for k in ks:
                cache.get(k)
            cache.advance(s)
        expected = ScheduledCache.misses(keys, window)
        assert sorted(computed) == sorted((s, k) for s, ks in enumerate(expected) for k in ks)
        counts[window] = len(computed)
    assert counts[0] > counts[2] > counts[40] == 12  # a longer window recomputes less


def test_cache_release_drops_only_values_not_needed_soon():
    from pyimcom.engine.cache import ScheduledCache

    uses = {"soon": [0, 2], "later": [0, 5], "never": [0]}
    cache = ScheduledCache(uses, lambda k: np.zeros(10), window=2)
    for key in uses:
        cache.get(key)
    assert cache.peak_bytes == 3 * 80
    for key in uses:
        cache.release(key, 0)
    assert "soon" in cache and "later" not in cache and "never" not in cache
    cache.release("absent", 0)  # releasing what is not cached is a no-op
    assert len(cache) == 1 and cache.n_computed == 3


@pytest.mark.parametrize("precision", ["double", "mixed"])  # mixed pulls further ahead
def test_system_frees_overlaps_and_transforms_before_the_solve(tiny_survey, precision):
    """After `system(s)` no pair overlap is held, and only the PSF transforms needed again soon."""
    from pyimcom.engine.system import FFT_WINDOW

    builder, stamps = _builder(tiny_survey, 8, precision=precision)
    for s in range(len(stamps)):
        builder.system(s)
        assert len(builder.pair_overlaps) == 0
        for key in builder.ffts._store:
            nxt = builder.ffts.next_use(key, s)
            assert nxt is not None and nxt - s <= FFT_WINDOW
        builder.advance(s)
    # every sub-matrix batch computed its pair overlap once; pulled-ahead sub-matrices were cache hits
    n_batches = sum(len(b) for b in builder._batches)
    assert builder.pair_overlaps.n_computed == n_batches > 0
    assert builder.submatrices.n_computed == sum(len(k) for b in builder._batches for k in b.values())


def test_pair_overlaps_in_the_a_buffer_give_the_same_systems(tiny_survey):
    """With reused buffers the pair overlaps and cross-spectra live in A's buffer while A is idle; the
    systems equal those built with fresh arrays, bit for bit, and no PSF transform is computed twice."""
    borrowed, stamps = _builder(tiny_survey, 8, reuse_buffers=True)
    fresh, _ = _builder(tiny_survey, 8)
    for s in range(len(stamps)):
        a, b = borrowed.system(s), fresh.system(s)
        np.testing.assert_array_equal(a.A, b.A)
        np.testing.assert_array_equal(a.b, b.b)
        if s == 0:
            A_buf = [v for (name, _), v in borrowed._buffers.items() if name == "A"][0]
            assert np.shares_memory(borrowed._scratch(0, (16,), np.float64), A_buf)
            spectra = borrowed._scratch(3 * 8 * 13, (4,), np.complex128)  # an unaligned offset is rounded up
            assert np.shares_memory(spectra, A_buf) and spectra.ctypes.data % 64 == A_buf.ctypes.data % 64
            assert not np.shares_memory(fresh._scratch(0, (16,), np.float64), A_buf)
        borrowed.advance(s)
        fresh.advance(s)
    # each group's transforms are computed once per run of uses less than the window apart: the
    # release after a group's last batch of a stamp forces no recomputation
    from pyimcom.engine.system import FFT_WINDOW

    runs = sum(1 + int(np.sum(np.diff(u) > FFT_WINDOW)) for u in borrowed.ffts._uses.values())
    assert borrowed.ffts.n_computed == fresh.ffts.n_computed == runs


def test_overlap_batches_pull_the_next_stamps_sub_matrices_of_the_same_group_pair():
    from pyimcom.engine.system import overlap_batches

    group_pair = lambda key: (key[0] // 10, key[1] // 10)  # noqa: E731
    misses = [{(1, 2), (1, 13), (21, 22)}, {(3, 4), (5, 25), (2, 14)}, {(6, 7)}, set()]
    batches = overlap_batches(misses, group_pair)
    assert batches[0] == {(0, 0): [(1, 2), (3, 4)], (0, 1): [(1, 13), (2, 14)], (2, 2): [(21, 22)]}
    assert batches[1] == {(0, 2): [(5, 25)]}  # (0, 0) and (0, 1) were done at stamp 0
    assert batches[2] == {(0, 0): [(6, 7)]} and batches[3] == {}
    two = overlap_batches(misses, group_pair, lookahead=2)  # (6, 7) of stamp 2 joins stamp 0's batch
    assert two[0][(0, 0)] == [(1, 2), (3, 4), (6, 7)] and two[2] == {}
    # without lookahead every stamp computes exactly its own misses
    plain = overlap_batches(misses, group_pair, lookahead=0)
    assert [sorted(k for ks in b.values() for k in ks) for b in plain] == [sorted(m) for m in misses]


def test_stamp_sums_match_numpy():
    from pyimcom._kernels.products import stamp_sums

    rng = np.random.default_rng(8)
    n_out, m, n, n_layer, n_img = 2, 37, 300, 3, 5
    T = rng.standard_normal((n_out, m, n)).astype(np.float32)
    values = rng.standard_normal((n_layer, n))
    image = rng.integers(0, n_img - 1, n)  # the last image has no pixel: its weights are 0
    layers, W = np.full((n_out, n_layer, m), np.nan), np.full((n_out, m, n_img), np.nan)
    stamp_sums(T, values, image, layers, W)
    T64 = T.astype(np.float64)
    np.testing.assert_allclose(layers, np.einsum("oai,li->ola", T64, values), rtol=1e-12, atol=1e-12)
    onehot = np.eye(n_img)[image]
    np.testing.assert_allclose(W, T64 @ onehot, rtol=1e-12, atol=1e-12)
    assert np.all(W[..., -1] == 0.0)


@pytest.mark.parametrize("mirror", [False, True])
def test_block_matvec_matches_the_dense_block(mirror):
    from pyimcom._kernels.submatvec import block_matvec

    rng = np.random.default_rng(11)
    sub = rng.standard_normal((80, 95))
    rows = np.sort(rng.choice(80, 41, replace=False)).astype(np.int64)
    cols = np.sort(rng.choice(95, 63, replace=False)).astype(np.int64)
    n, k, r0, c0 = 130, 5, 2, 60
    Z = rng.standard_normal((k, n))
    out = rng.standard_normal((k, n))  # accumulated into
    expected = out.copy()
    S = sub[np.ix_(rows, cols)]
    expected[:, r0 : r0 + 41] += Z[:, c0 : c0 + 63] @ S.T
    if mirror:
        expected[:, c0 : c0 + 63] += Z[:, r0 : r0 + 41] @ S
    block_matvec(sub, rows, cols, Z, out, r0, c0, mirror, 7)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_stamp_operator_gives_a_in_float32_and_float64_products(tiny_survey):
    """``system(s, float32)`` is the float64 A rounded, and the operator's product is the float64 A's."""
    b64, stamps = _builder(tiny_survey, 8)
    b32, _ = _builder(tiny_survey, 8)
    s = stamps.index((2, 2))
    for earlier in range(s):
        for b in (b64, b32):
            b.system(earlier)
            b.advance(earlier)
    sys64, sys32 = b64.system(s), b32.system(s, np.float32)
    assert sys32.A.dtype == np.float32
    np.testing.assert_array_equal(sys32.A, sys64.A.astype(np.float32))
    np.testing.assert_array_equal(sys32.b, sys64.b)
    Z = np.random.default_rng(2).standard_normal((3, sys64.A.shape[0]))
    np.testing.assert_allclose(
        sys32.operator.matvec(Z), Z @ sys64.A, rtol=1e-11, atol=1e-13 * np.abs(sys64.A).max()
    )
    with pytest.raises(ValueError, match="shape"):
        sys32.operator.matvec(Z[:, :-1])


def _run_block(cfg, precision):
    job = BlockJob.from_config(cfg, 0, 0)
    job.settings = dataclasses.replace(job.settings, precision=precision)
    result, _ = job.run()
    return result


def test_double_precision_solves_for_sums_and_matches_full_float64(tiny_survey, monkeypatch):
    """LAPRECISION double (default): layers, weights and D from the float64 forward solve, Sigma from
    the float32 back-substitution; against "full" (T in float64, every product formed from T)."""
    import pyimcom.engine.block as block

    calls = []
    solve = block.solve_cholesky_sums
    monkeypatch.setattr(block, "solve_cholesky_sums", lambda *a, **k: calls.append(1) or solve(*a, **k))
    cfg = Config(tiny_survey.to_file(None))
    cfg.extrainput = [None, "whitenoise1", "cstar14"]
    cfg.stoptile = 8
    cfg()
    full = _run_block(cfg, "full")
    assert not calls
    dbl = _run_block(cfg, "double")
    assert len(calls) == dbl.n_stamps == 8
    peaks = np.max(np.abs(full.layers[0]), axis=(1, 2))
    assert np.count_nonzero(peaks) >= 2
    for layer in range(full.layers.shape[1]):  # "full" forms the layers from the float32-stored T
        assert np.max(np.abs(dbl.layers[0, layer] - full.layers[0, layer])) <= 1e-6 * peaks[layer]
    for c in "TN":
        np.testing.assert_allclose(dbl.maps[c], full.maps[c], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(dbl.maps["K"], full.maps["K"])
    np.testing.assert_allclose(dbl.inweight, full.inweight, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbl.maps["S"], full.maps["S"], rtol=1e-5)
    np.testing.assert_allclose(dbl.maps["U"], full.maps["U"], rtol=1e-3)
    assert not np.array_equal(dbl.maps["S"], full.maps["S"])  # a different path, not the same one twice


def test_mixed_precision_block_matches_double_in_layers_and_weights(tiny_survey):
    """LAPRECISION mixed: layers and T/N maps as float64; Sigma and U/C from the float32 solves."""
    cfg = Config(tiny_survey.to_file(None))
    cfg.extrainput = [None, "whitenoise1", "cstar14"]
    cfg.stoptile = 8
    cfg()
    dbl, mix = _run_block(cfg, "double"), _run_block(cfg, "mixed")
    assert mix.timings["float64_fallbacks"] == 0 and mix.timings["refine_steps"] >= 1
    peaks = np.max(np.abs(dbl.layers[0]), axis=(1, 2))
    assert np.count_nonzero(peaks) >= 2  # science and white noise at least
    for layer in range(dbl.layers.shape[1]):
        assert np.max(np.abs(mix.layers[0, layer] - dbl.layers[0, layer])) <= 1e-6 * peaks[layer]
    for c in "TN":
        np.testing.assert_allclose(mix.maps[c], dbl.maps[c], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mix.inweight, dbl.inweight, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mix.maps["S"], dbl.maps["S"], rtol=1e-2)
    fid = [-10 * np.log10(np.median(r.maps["U"][r.maps["U"] > 0])) for r in (dbl, mix)]
    assert abs(fid[0] - fid[1]) < 0.5


def test_mixed_precision_falls_back_to_float64(tiny_survey, monkeypatch, caplog):
    import pyimcom.linalg.mixed as mixed

    def fail(M):
        raise mixed.MixedPrecisionError("forced")

    cfg = Config(tiny_survey.to_file(None))
    cfg.stoptile = 3
    cfg()
    dbl = _run_block(cfg, "double")
    monkeypatch.setattr(mixed, "factor32", fail)
    mix = _run_block(cfg, "mixed")
    assert mix.timings["float64_fallbacks"] == 3
    assert "solving this stamp in float64" in caplog.text
    np.testing.assert_allclose(mix.layers, dbl.layers, rtol=1e-10, atol=1e-12)
    for c in "USKTN":
        np.testing.assert_allclose(mix.maps[c], dbl.maps[c], rtol=1e-10, atol=1e-14)


def test_pulling_ahead_computes_fewer_pair_overlaps(tiny_survey, monkeypatch):
    import pyimcom.engine.system as system

    assert system.PULL_AHEAD > 1
    counts = [sum(len(b) for b in _builder(tiny_survey, 8)[0]._batches)]
    monkeypatch.setattr(system, "PULL_AHEAD", 1)
    counts.append(sum(len(b) for b in _builder(tiny_survey, 8)[0]._batches))
    assert counts[0] < counts[1]


def test_submatrices_hold_exactly_the_pixels_some_stamp_pairs(tiny_survey):
    """A pair's cached sub-matrix covers the union, over the stamps whose neighbourhood holds both
    InStamps, of the stamps' selections (core §3.9) -- no more, no less."""
    builder, stamps = _builder(tiny_survey, 8)
    expected = {}
    for j, i in stamps:
        inst = builder._neighbourhood(j, i)
        sel = select_stamp_pixels(builder.pixels, builder.geometry, j, i, builder.settings.rho)
        for t in range(9):
            for u in range(9):
                if inst[t] <= inst[u]:
                    rows, cols = expected.setdefault((inst[t], inst[u]), (set(), set()))
                    rows.update(sel[t] - builder._inst_slice(inst[t]).start)
                    cols.update(sel[u] - builder._inst_slice(inst[u]).start)
    assert set(expected) == set(builder._used)
    smaller = 0
    for key, (rows, cols) in expected.items():
        got_rows, got_cols = builder.used_pixels(key)
        assert sorted(rows) == got_rows.tolist() and sorted(cols) == got_cols.tolist()
        n_a = builder._inst_slice(key[0]).stop - builder._inst_slice(key[0]).start
        smaller += len(rows) < n_a
    assert smaller > 0  # some pairs are restricted
