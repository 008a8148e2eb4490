"""Offline speech synthesis: each engine speaks, speed and pitch act, the cache serves repeats
without running an engine, and missing engines or voices fail clearly."""

import shutil
import subprocess
import types

import numpy as np
import pytest

from kerasdl.data import speech
from kerasdl.data.audio import read_wav
from kerasdl.data.speech import (
    Voice,
    available_engines,
    default_cache_dir,
    espeak_variants,
    held_out_voices,
    list_voices,
    synthesize,
    synthesize_many,
    train_voices,
)


def require(engine):
    if shutil.which(engine) is None:
        reason = f"{engine} is not installed (apt-get install {engine})"
        print(f"skipped: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


def fundamental(clip, rate=16000):
    """F0 in Hz of the loudest 128 ms of a clip: the real cepstrum's peak at 50-400 Hz."""
    n = 2048
    energy = np.convolve(clip**2, np.ones(n), "valid")
    frame = clip[energy.argmax() : energy.argmax() + n] * np.hanning(n)
    cepstrum = np.fft.irfft(np.log(np.abs(np.fft.rfft(frame)) + 1e-6))
    lags = np.arange(rate // 400, rate // 50)
    return rate / lags[cepstrum[lags].argmax()]


ENGINE_VOICES = [
    Voice("espeak-ng", "en-us"),
    Voice("espeak-ng", "en-gb-scotland+f3", speed=1.2, pitch=70),
    Voice("flite", "slt"),
    Voice("flite", "kal"),  # an 8 kHz voice
    Voice("festival", "kal_diphone"),
]


@pytest.mark.parametrize("voice", ENGINE_VOICES, ids=lambda v: f"{v.engine}-{v.name}")
def test_each_engine_speaks_the_word(cache, voice):
    require(voice.engine)
    clip = synthesize("activate", voice, cache_dir=cache)
    assert clip.dtype == np.float32 and clip.ndim == 1
    assert 0.35 < clip.size / 16000 < 1.5  # "activate" takes about half a second to a second
    assert np.isclose(np.abs(clip).max(), 0.9)
    assert np.sqrt(np.mean(clip**2)) > 0.05
    # Trimmed: speech right at both ends (first and last 20 ms are not silent).
    for edge in (clip[:320], clip[-320:]):
        assert np.abs(edge).max() > 0.9 * 10 ** (-40 / 20)
    # Speech, not noise: most energy below 4 kHz.
    power = np.abs(np.fft.rfft(clip)) ** 2
    freqs = np.fft.rfftfreq(clip.size, 1 / 16000)
    assert power[freqs < 4000].sum() > 0.8 * power.sum()


def engine_reference(engine, name, speed, tmp_path):
    """The engine run straight from its own command line at the documented rate rule
    (espeak-ng: 175 * speed words per minute; flite and festival diphone voices: durations
    stretched by 1 / speed), read back at 16 kHz."""
    text, wav = "activate the lights", tmp_path / f"{engine}-{speed}.wav"
    if engine == "espeak-ng":
        command = ["espeak-ng", "-v", name, "-s", str(round(175 * speed)), "-w", str(wav), text]
    elif engine == "flite":
        stretch = f"duration_stretch={1 / speed}"
        command = ["flite", "-voice", name, "--setf", stretch, "-t", text, "-o", str(wav)]
    else:
        script = tmp_path / "text.txt"
        script.write_text(text)
        command = ["text2wave", "-eval", f"(voice_{name})"]
        command += ["-eval", f"(Parameter.set 'Duration_Stretch {1 / speed})"]
        command += ["-o", str(wav), str(script)]
    subprocess.run(command, check=True, capture_output=True)
    return read_wav(wav, 16000)


@pytest.mark.parametrize("engine", ["espeak-ng", "flite", "festival"])
def test_speed_follows_each_engines_rate_rule(cache, engine, tmp_path):
    require(engine)
    name = {"espeak-ng": "en-us", "flite": "awb"}.get(engine)
    if engine == "festival":
        diphone = [v for v in list_voices("festival") if v.endswith("_diphone")]
        if not diphone:
            print(
                "skipped: no festival diphone voice is installed (apt-get install festvox-kdlpc16k)"
            )
            pytest.skip("no festival diphone voice is installed")
        name = diphone[0]
    requests = [("activate the lights", Voice(engine, name, s)) for s in (0.8, 1.25)]
    slow, fast = synthesize_many(requests, cache_dir=cache, trim=False)
    for clip, speed in ((slow, 0.8), (fast, 1.25)):
        expected = engine_reference(engine, name, speed, tmp_path)
        assert clip.size == expected.size
        # The same speech, scaled to the 0.9 peak.
        np.testing.assert_allclose(clip, expected * (0.9 / np.abs(expected).max()), atol=1e-6)
    # Slower speech lasts longer: at least the 1.25 / 0.8 stretch of the speech, less the
    # fixed pauses at both ends.
    assert slow.size > 1.5 * fast.size


def test_espeak_pitch_raises_the_fundamental(cache):
    require("espeak-ng")
    low, high = synthesize_many(
        [
            ("ah", Voice("espeak-ng", "en-us", pitch=10)),
            ("ah", Voice("espeak-ng", "en-us", pitch=90)),
        ],
        cache_dir=cache,
    )
    assert fundamental(high) > 1.3 * fundamental(low)


def test_cache_serves_repeats_without_the_engine(tmp_path, monkeypatch):
    require("espeak-ng")
    requests = [("hello", Voice("espeak-ng", "en-us")), ("hello", Voice("espeak-ng", "en-us", 1.1))]
    first = synthesize_many(requests, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2  # the speed is part of the key
    synthesize("hello", Voice("espeak-ng", "en-us", speed=1), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2  # speed=1 is speed=1.0

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine ran although the clip was cached")

    monkeypatch.setattr(subprocess, "run", no_engine)
    second = synthesize_many(requests * 2, cache_dir=tmp_path)
    for a, b in zip(first * 2, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0][: first[1].size], first[1][: first[0].size])
    # Another rate is another key, so it must synthesise again.
    with pytest.raises(AssertionError, match="the engine ran"):
        synthesize("hello", Voice("espeak-ng", "en-us"), sample_rate=8000, cache_dir=tmp_path)


def test_progress_bar_counts_the_clips_made(tmp_path, capsys):
    require("espeak-ng")
    requests = [(word, Voice("espeak-ng", "en-us")) for word in ("one", "two", "three")]
    quiet = synthesize_many(requests[:1], cache_dir=tmp_path / "a")
    assert "synthesising" not in capsys.readouterr().err  # few clips, no terminal: no bar
    clips = synthesize_many(requests, cache_dir=tmp_path / "a", progress=True)
    bar = capsys.readouterr().err
    assert "synthesising" in bar and "2/2" in bar  # the two not cached yet
    np.testing.assert_array_equal(clips[0], quiet[0])
    synthesize_many(requests, cache_dir=tmp_path / "a", progress=True)
    assert "synthesising" not in capsys.readouterr().err  # all cached: nothing to make


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASDL_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "speech"
    monkeypatch.delenv("KERASDL_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "kerasdl", "speech")


def test_missing_engine_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(speech.shutil, "which", lambda program: None)
    speech._engine_voices.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match=r"apt-get install flite"):
            synthesize("activate", Voice("flite", "slt"), cache_dir=tmp_path)
        with pytest.raises(FileNotFoundError, match=r"apt-get install espeak-ng"):
            list_voices("espeak-ng")
    finally:
        speech._engine_voices.cache_clear()


def test_unknown_voices_fail_clearly(tmp_path):
    require("flite")
    require("espeak-ng")
    # flite itself would silently fall back to kal.
    with pytest.raises(ValueError, match=r"`name` must be one of the installed flite voices"):
        synthesize("activate", Voice("flite", "nosuchvoice"), cache_dir=tmp_path)
    with pytest.raises(RuntimeError, match="espeak-ng .* failed"):
        synthesize("activate", Voice("espeak-ng", "nosuchvoice"), cache_dir=tmp_path)


def test_voice_arguments_are_checked():
    with pytest.raises(ValueError, match="`engine` must be one of"):
        Voice("say", "alex")
    with pytest.raises(ValueError, match=r"`speed` must be in \[0.4, 3\]"):
        Voice("espeak-ng", "en-us", speed=5)
    with pytest.raises(ValueError, match="`pitch` must be None for festival"):
        Voice("festival", "kal_diphone", pitch=100)
    with pytest.raises(ValueError, match=r"`pitch` must be in \[0, 99\]"):
        Voice("espeak-ng", "en-us", pitch=120)
    with pytest.raises(ValueError, match="`name` must be a voice name"):
        Voice("festival", 'kal_diphone) (system "ls")')
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        synthesize_many([("  ", Voice("espeak-ng", "en-us"))])


def test_available_engines(monkeypatch):
    installed = {"espeak-ng", "festival"}
    monkeypatch.setattr(
        speech.shutil, "which", lambda p: f"/usr/bin/{p}" if p in installed else None
    )
    monkeypatch.setattr(speech.kokoro, "ready", lambda: False)
    monkeypatch.setattr(speech, "_piper_ready", lambda: True)
    assert available_engines() == ("espeak-ng", "festival", "piper")
    monkeypatch.setattr(speech.kokoro, "ready", lambda: True)
    assert available_engines() == ("espeak-ng", "festival", "piper", "kokoro")
    monkeypatch.setattr(speech.kokoro, "ready", lambda: False)
    monkeypatch.setattr(speech, "_piper_ready", lambda: False)
    assert available_engines() == ("espeak-ng", "festival")
    installed.remove("espeak-ng")  # the neural voices' phonemes come from espeak-ng
    monkeypatch.setattr(speech, "_piper_ready", lambda: True)
    monkeypatch.setattr(speech.kokoro, "ready", lambda: True)
    assert available_engines() == ("festival",)


def test_voice_listings():
    require("espeak-ng")
    english = list_voices("espeak-ng")
    assert "en-us" in english and "en-gb" in english and len(english) >= 4
    assert not any(v.startswith("mb-") for v in english)
    variants = espeak_variants()
    assert {"m1", "f1", "klatt"} <= set(variants)
    assert not any("robosoft" in v for v in variants)
    assert set(variants) < set(espeak_variants(effects=True))
    if shutil.which("flite"):
        flite = list_voices("flite")
        assert "slt" in flite and "awb_time" not in flite
    if shutil.which("festival"):
        assert "kal_diphone" in list_voices("festival")


def test_train_voices_are_random_and_reproducible():
    require("espeak-ng")
    voices = train_voices(50, seed=3, speed_range=(0.8, 1.2), pitch_range=(30, 60))
    assert voices == train_voices(50, seed=3, speed_range=(0.8, 1.2), pitch_range=(30, 60))
    assert voices != train_voices(50, seed=4, speed_range=(0.8, 1.2), pitch_range=(30, 60))
    assert all(v.engine == "espeak-ng" for v in voices)
    assert all(0.8 <= v.speed <= 1.2 and 30 <= v.pitch <= 60 for v in voices)
    assert all(v.name.split("+")[0] in list_voices("espeak-ng") for v in voices)
    assert len({v.name for v in voices}) > 30
    assert sum("+" in v.name for v in voices) > 40


def test_held_out_voices_cover_every_voice_and_speed():
    require("flite")
    voices = held_out_voices(("flite",), speeds=(0.9, 1.1))
    assert len(voices) == 2 * len(list_voices("flite"))
    assert {v.name for v in voices} == set(list_voices("flite"))


def test_neural_voices_need_espeak(monkeypatch, tmp_path):
    monkeypatch.setattr(speech.piper, "voice_files", dict)
    assert not speech._piper_ready()
    monkeypatch.setattr(speech.piper, "load", lambda name: None)  # the voice is there
    monkeypatch.setattr(speech.shutil, "which", lambda p: None)
    with pytest.raises(FileNotFoundError, match="Kokoro voices take their phonemes from espeak"):
        synthesize("activate", Voice("piper", "en_US-joe-medium"), cache_dir=tmp_path)
    model = types.SimpleNamespace(style=lambda name, count: None)  # the model is there
    monkeypatch.setattr(speech.kokoro, "load", lambda: model)
    with pytest.raises(FileNotFoundError, match="Kokoro voices take their phonemes from espeak"):
        synthesize("activate", Voice("kokoro", "jf_alpha"), cache_dir=tmp_path)
