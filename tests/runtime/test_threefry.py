"""The straight-line Threefry sampler: the same hash as jax.random, and exact normals."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from wall.lang.values import Domain
from wall.runtime import threefry
from wall.runtime.data import sample_inputs

# Known-answer vectors of Threefry-2x32 with 20 rounds from the Random123 distribution:
# (key, counter, output).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key,counter,expected", KNOWN_ANSWERS)
def test_hash_matches_known_answers(key, counter, expected):
    words = jnp.array(key, jnp.uint32)
    out = threefry.hash_blocks(words, jnp.array([counter[0]], jnp.uint32), jnp.array([counter[1]], jnp.uint32))
    assert [int(o[0]) for o in out] == list(expected)


@pytest.mark.parametrize("data", [0, 1, 7, np.uint32(2**31 + 5)])
def test_fold_in_matches_jax(data):
    key = jax.random.key(42)
    ours = jax.random.key_data(jax.jit(threefry.fold_in)(key, data))
    np.testing.assert_array_equal(ours, jax.random.key_data(jax.random.fold_in(key, data)))


def test_random_words_use_both_block_words():
    # Block i is the counter (0, i), which is what fold_in hashes, so fold_in gives the reference.
    key = jax.random.key(3)
    words = np.asarray(threefry.random_words(key, 10))
    blocks = np.array([jax.random.key_data(jax.random.fold_in(key, i)) for i in range(5)])
    np.testing.assert_array_equal(words, np.concatenate([blocks[:, 0], blocks[:, 1]]))
    assert threefry.random_words(key, 9).shape == (9,)


def test_normal_is_inverse_cdf():
    key = jax.random.key(11)
    words = np.asarray(threefry.random_words(key, 4001)).astype(np.float64)
    unit = (np.floor(words / 2**9) + 0.5) / 2**23
    expected = math.sqrt(2) * special.erfinv(2 * unit - 1)
    values = np.asarray(threefry.normal(key, (4001,)))
    np.testing.assert_allclose(values, expected, rtol=2e-5, atol=2e-6)


def test_normal_is_standard_normal():
    n = 2**21
    z = np.asarray(threefry.normal(jax.random.key(5), (n // 64, 64)), np.float64).reshape(-1)
    assert np.all(np.isfinite(z))
    assert np.abs(z).max() < 5.4  # the inverse CDF of the uniform grid's ends is 5.3
    # The keys are fixed, so these checks are deterministic. Each bound is 5 standard errors.
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 5 * math.sqrt(96 / n)
    assert stats.kstest(z[: 2**20], "norm").pvalue > 1e-3
    # The two words of a block feed the two halves. Neither they nor neighbours correlate.
    half = n // 2
    assert abs(np.mean(z[:half] * z[half:])) < 5 / math.sqrt(half)
    assert abs(np.mean(z[:-1] * z[1:])) < 5 / math.sqrt(n)


def test_normal_batched_by_vmap():
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.jit(jax.vmap(lambda k: threefry.normal(k, (7, 5))))(keys)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], threefry.normal(keys[i], (7, 5)))


def test_biased_hypercube_is_standardised():
    x = np.asarray(sample_inputs(jax.random.key(1), Domain(kind="biased_hypercube", d=16, p=0.2), 8192))
    assert set(np.round(np.unique(x), 4)) == {round(-0.2 / 0.4, 4), round(0.8 / 0.4, 4)}
    assert abs(x.mean()) < 5 / math.sqrt(x.size)
    assert abs(x.var() - 1) < 0.05
