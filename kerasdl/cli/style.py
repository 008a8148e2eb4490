"""`kerasdl style`: neural style transfer from two image files to a PNG."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerasdl._validation import check_positive_int


def read_image(name: str, path: str, size: int | None = None) -> np.ndarray:
    """The RGB pixels of an image file as float32 in [0, 1], its longer side resized to
    `size` (aspect ratio kept) when given; a clear error for a missing or non-image file."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise ValueError(f"`{name}` must be an existing image file. Received: {name}={path!r}")
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(
            f"`{name}` must be a JPEG or PNG image file. Received: {name}={path!r} ({error})"
        ) from None
    if size is not None:
        scale = size / max(image.size)
        width, height = (max(1, round(side * scale)) for side in image.size)
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype="float32") / 255.0


def run_style(
    content_path: str,
    style_path: str,
    out_path: str,
    iterations: int = 200,
    size: int | None = 256,
    weights: str | None = None,
    network: str = "VGG19",
    learning_rate: float = 0.01,
    alpha: float = 10.0,
    beta: float = 40.0,
    noise_ratio: float = 0.6,
    seed: int | None = 0,
    save_every: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Transfers the style of `style_path` onto `content_path` and saves `out_path`.

    The content image is resized so that its longer side is `size` pixels (`None` keeps
    it); the output has that size. `weights` is `None` (a randomly initialised VGG:
    colours and texture transfer, no semantics), `"imagenet"` (Keras downloads and
    caches the VGG weights; needs a network connection once) or a local weights file.
    Prints the costs before and after and the run time; returns them with the
    history of `kerasdl.models.StyleTransfer.transfer`.
    """
    from kerasdl.models.style_transfer import StyleTransfer

    if size is not None:
        size = check_positive_int("size", size)
    content = read_image("content", content_path, size)
    style = read_image("style", style_path)
    model = StyleTransfer(network=network, weights=weights, alpha=alpha, beta=beta)
    image, history = model.transfer(
        content,
        style,
        iterations=iterations,
        learning_rate=learning_rate,
        noise_ratio=noise_ratio,
        seed=seed,
        output_path=out_path,
        save_every=save_every,
        progress=progress,
    )
    seconds = history["seconds"][0]
    first, last = history["total"][0], history["total"][-1]
    print(
        f"{iterations} iterations on {image.shape[1]}x{image.shape[0]} pixels in "
        f"{seconds:.1f} s: J {first:.4g} -> {last:.4g} (J_content "
        f"{history['content'][-1]:.4g}, J_style {history['style'][-1]:.4g})"
    )
    print(f"generated image: {out_path}")
    return {"out_path": out_path, "shape": image.shape, "history": history, "seconds": seconds}
