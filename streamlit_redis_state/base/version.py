"""The library's version: one place, read by the package, its status records and packaging."""

__version__ = "0.2.0"
