"""kvartal: the quarterly status report on an administration's agreed targets."""

__version__ = "0.1.0"
