"""FaceNet encodings computed by Keras 2 from the .h5 file's own architecture.

Run by tests/tutorials/test_face_verification.py with the Python of `.venv-tfa`
(TensorFlow 2.15, whose `tf.keras` is Keras 2): the network is rebuilt from the file's
`model_config` with `model_from_json`, and the weights are read by Keras 2's own HDF5
reader. Only the file's `Lambda` layers change: their marshalled Python 3.6 bytecode
does not load in a newer Python, so each becomes a layer computing the same
`inputs[0] + inputs[1] * scale` with the scale stored in the file.

Usage: python facenet_keras2_reference.py WEIGHTS.h5 INPUTS.npy OUTPUTS.npy
"""

import json
import sys

import h5py
import numpy as np
import tensorflow as tf


class ScaleSum(tf.keras.layers.Layer):
    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale


def main(weights, inputs, outputs):
    with h5py.File(weights, "r") as f:
        config = json.loads(f.attrs["model_config"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Lambda":
            scale = layer["config"]["arguments"]["scale"]
            layer["class_name"] = "ScaleSum"
            layer["config"] = {"name": layer["config"]["name"], "scale": scale}
    model = tf.keras.models.model_from_json(
        json.dumps(config), custom_objects={"ScaleSum": ScaleSum}
    )
    model.load_weights(weights)
    np.save(outputs, model.predict(np.load(inputs), verbose=0))


if __name__ == "__main__":
    main(*sys.argv[1:4])
