"""`kerasdl bleu` through run_bleu: files of real licence sentences scored as sacrebleu's
command line scores them, its printed line, and the errors for bad files."""

import io
import os
import random
import re
import subprocess
import sys

import pytest
import sacrebleu

from kerasdl.cli.bleu import run_bleu

LICENSES = "/usr/share/common-licenses"


@pytest.fixture(scope="module")
def sentences():
    if not os.path.isdir(LICENSES):
        pytest.skip(f"{LICENSES} is not on this machine")
    text = ""
    for name in ("Apache-2.0", "GPL-3", "MPL-2.0"):
        with open(os.path.join(LICENSES, name), encoding="utf-8") as f:
            text += f.read()
    parts = re.split(r"(?<=[.;])\s+", re.sub(r"\s+", " ", text))
    return [p for p in parts if len(p.split()) >= 3][:200]


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def perturbed(sentences, seed):
    rng = random.Random(seed)
    out = []
    for s in sentences:
        words = s.split()
        if len(words) > 3:
            del words[rng.randrange(len(words))]
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return out


def test_scores_files_as_sacrebleu(tmp_path, sentences):
    hyp = write(tmp_path / "hyp.txt", perturbed(sentences, 0))
    ref = write(tmp_path / "ref.txt", sentences)
    ref2 = write(tmp_path / "ref2.txt", perturbed(sentences, 1))
    out = io.StringIO()
    result = run_bleu(hyp, [ref, ref2], out=out)
    expected = sacrebleu.corpus_bleu(perturbed(sentences, 0), [sentences, perturbed(sentences, 1)])
    assert result.score == pytest.approx(expected.score, abs=1e-4)
    assert out.getvalue() == (
        "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp = " + expected.format()[7:] + "\n"
    )

    # Options reach corpus_bleu; the signature names them as sacrebleu does.
    out = io.StringIO()
    result = run_bleu(hyp, ref, tokenize="intl", lowercase=True, smooth_method="floor", out=out)
    expected = sacrebleu.corpus_bleu(
        perturbed(sentences, 0), [sentences], tokenize="intl", lowercase=True, smooth_method="floor"
    )
    assert result.score == pytest.approx(expected.score, abs=1e-4)
    assert out.getvalue().startswith("BLEU|nrefs:1|case:lc|eff:no|tok:intl|smooth:floor[0.10] = ")


def test_same_score_as_sacrebleus_command_line(tmp_path, sentences):
    hyp = write(tmp_path / "hyp.txt", perturbed(sentences, 2))
    ref = write(tmp_path / "ref.txt", sentences)
    command = [os.path.join(os.path.dirname(sys.executable), "sacrebleu"), ref, "-i", hyp]
    if not os.path.exists(command[0]):
        pytest.skip("the sacrebleu command is not installed beside this Python")
    line = subprocess.run(
        command + ["-f", "text", "-w", "4"], capture_output=True, text=True, check=True
    ).stdout
    theirs = float(line.split(" = ")[1].split()[0])
    assert run_bleu(hyp, ref, out=io.StringIO()).score == pytest.approx(theirs, abs=1e-4)


def test_windows_line_ends_and_empty_lines(tmp_path):
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes(b"the cat sat\r\n\r\na dog\r\n")
    ref = tmp_path / "ref.txt"
    ref.write_bytes(b"the cat sat down\r\nnothing\r\na dog\r\n")
    result = run_bleu(str(hyp), str(ref), out=io.StringIO())
    expected = sacrebleu.corpus_bleu(
        ["the cat sat", "", "a dog"], [["the cat sat down", "nothing", "a dog"]]
    )
    assert result.score == pytest.approx(expected.score, abs=1e-4)


def test_errors(tmp_path, sentences):
    hyp = write(tmp_path / "hyp.txt", sentences[:10])
    ref = write(tmp_path / "ref.txt", sentences[:10])
    short = write(tmp_path / "short.txt", sentences[:9])
    with pytest.raises(ValueError, match=r"`hyp_path` must be an existing text file\. "):
        run_bleu(str(tmp_path / "missing.txt"), ref)
    with pytest.raises(ValueError, match=r"`ref_paths\[1\]` must be an existing text file"):
        run_bleu(hyp, [ref, str(tmp_path / "missing.txt")])
    with pytest.raises(
        ValueError, match=r"`ref_paths\[1\]` must have as many lines as `hyp_path` \(10 .*9 lines"
    ):
        run_bleu(hyp, [ref, short])
    with pytest.raises(ValueError, match=r"`ref_paths` must name at least one reference file"):
        run_bleu(hyp, [])
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match=r"`ref_paths\[0\]` must be UTF-8 text"):
        run_bleu(hyp, str(binary))
    empty = write(tmp_path / "empty.txt", [])
    with pytest.raises(ValueError, match=r"`hyp_path` must hold at least one line"):
        run_bleu(empty, empty)
    with pytest.raises(ValueError, match=r"`tokenize` must be one of"):
        run_bleu(hyp, ref, tokenize="zh")
