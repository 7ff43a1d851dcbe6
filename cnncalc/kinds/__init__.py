"""Every layer kind of the description format: arguments, shape rule, weights and counts side by side.

One module per family; importing this package registers them all, in the order the docs and the schema list them.
Shapes are per sample: ``(C, *spatial)`` for feature maps, ``(features,)`` after ``flatten``. Counts are per
sample too; the propagator multiplies by the batch. MACs count only convolutions and fully connected layers,
bias excluded; FLOPs count every arithmetic operation (the rule of each kind is in its ``flops_rule``).
"""

# The order of registration is the order of the docs' tables and of the schema: keep it, unsorted.
# isort: off
from . import window  # noqa: F401  (conv, convtranspose, the poolings)
from . import dense  # noqa: F401  (flatten, linear)
from . import normalization  # noqa: F401  (batchnorm, lrn)
from . import elementwise  # noqa: F401  (dropout, the activations, softmax)
from . import resample  # noqa: F401  (upsample)
from . import merge  # noqa: F401  (add, mul, concat)
from . import layout  # noqa: F401  (permute, channelshuffle, chunk, pad)
# isort: on
