"""Every public kerasdl component's example, checked by test_contract.py."""

from __future__ import annotations

from kerasdl.layers import ConvBlock, IdentityBlock, InceptionModule, ResidualBlock
from tests.conformance.registry import Bad, Example, random_floats

EXAMPLES: list[Example] = [
    Example(
        cls=ResidualBlock,
        kind="layer",
        kwargs={"filters": 4},
        inputs=lambda: (random_floats(4, 8, 8, 3),),
        bad=(
            Bad(ValueError, r"`filters` must be > 0\. Received: filters=0", kwargs={"filters": 0}),
            Bad(TypeError, r"`filters` must be a positive int", kwargs={"filters": 2.5}),
            Bad(ValueError, r"`strides` must have 2 entries", kwargs={"strides": (1, 2, 3)}),
            Bad(
                ValueError,
                r"`batch_norm_momentum` must be in \[0, 1\)",
                kwargs={"batch_norm_momentum": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4 .*Received: inputs.shape=\(4, 8, 3\)",
                inputs=lambda: (random_floats(4, 8, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
        id="ResidualBlock",
    ),
    Example(
        cls=ResidualBlock,
        kind="layer",
        kwargs={"filters": 3, "use_batch_norm": False, "kernel_size": (3, 1)},
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        device_ready=True,
        id="ResidualBlock-identity-shortcut-no-bn",
    ),
    Example(
        cls=IdentityBlock,
        kind="layer",
        kwargs={"kernel_size": 3, "filters": (2, 2, 4)},
        inputs=lambda: (random_floats(4, 6, 6, 4),),
        bad=(
            Bad(ValueError, r"`filters` must have 3 entries", kwargs={"filters": (2, 4)}),
            Bad(ValueError, r"`strides` of an IdentityBlock must be 1", kwargs={"strides": 2}),
            Bad(ValueError, r"`batch_norm_epsilon` must be > 0", kwargs={"batch_norm_epsilon": 0}),
            Bad(
                ValueError,
                r"must have filters\[2\]=4 channels.*Received: inputs.shape=\(4, 6, 6, 3\)",
                inputs=lambda: (random_floats(4, 6, 6, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
    ),
    Example(
        cls=ConvBlock,
        kind="layer",
        kwargs={"kernel_size": 3, "filters": (2, 2, 4), "strides": 2},
        inputs=lambda: (random_floats(4, 7, 7, 3),),
        bad=(
            Bad(
                TypeError,
                r"`kernel_size` must be an int or a tuple of 2",
                kwargs={"kernel_size": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4",
                inputs=lambda: (random_floats(4, 7, 3),),
            ),
        ),
        device_ready=True,
        batch_statistics=True,
    ),
    Example(
        cls=InceptionModule,
        kind="layer",
        kwargs={
            "filters_1x1": 2,
            "filters_3x3": (2, 3),
            "filters_5x5": (1, 2),
            "filters_pool_proj": 2,
        },
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        bad=(
            Bad(
                ValueError,
                r"`filters_1x1` must be > 0\. Received: filters_1x1=0",
                kwargs={"filters_1x1": 0},
            ),
            Bad(
                ValueError,
                r"`filters_3x3` must be a \(reduce, out\) pair of positive ints\. "
                r"Received: filters_3x3=3",
                kwargs={"filters_3x3": 3},
            ),
            Bad(
                ValueError,
                r"`filters_5x5` must be a \(reduce, out\) pair",
                kwargs={"filters_5x5": (1, 2, 3)},
            ),
            Bad(
                TypeError,
                r"`filters_pool_proj` must be a positive int",
                kwargs={"filters_pool_proj": 1.5},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4 .*Received: inputs.shape=\(4, 6, 3\)",
                inputs=lambda: (random_floats(4, 6, 3),),
            ),
        ),
        device_ready=True,
        id="InceptionModule",
    ),
    Example(
        cls=InceptionModule,
        kind="layer",
        kwargs={
            "filters_1x1": 2,
            "filters_3x3": (2, 3),
            "filters_5x5": (1, 2),
            "filters_pool_proj": 2,
            "use_batch_norm": True,
        },
        inputs=lambda: (random_floats(4, 6, 6, 3),),
        device_ready=True,
        batch_statistics=True,
        id="InceptionModule-batch-norm",
    ),
]
