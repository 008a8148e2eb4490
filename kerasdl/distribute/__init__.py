"""kerasdl.distribute: strategy helpers and a training loop for every `tf.distribute` strategy.

- `get_strategy` picks MultiWorkerMirrored, Mirrored (GPUs or logical CPUs) or the default
  strategy; `split_cpu` splits the CPU into logical devices; `cluster_size` counts the
  training tasks in `TF_CONFIG`.
- `fit` trains a compiled Keras model under any of them, including
  `MultiWorkerMirroredStrategy` where Keras 3's `model.fit` fails, with Keras callbacks and
  exact resume after a failure through `keras.callbacks.BackupAndRestore`.
"""

from kerasdl.distribute.strategy import cluster_size, get_strategy, split_cpu
from kerasdl.distribute.training import fit

__all__ = ["cluster_size", "fit", "get_strategy", "split_cpu"]
