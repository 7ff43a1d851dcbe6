"""cnncalc: layer-by-layer shapes, parameters and operations of convolutional networks."""

__version__ = "0.1.0"
