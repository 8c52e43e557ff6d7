"""A worked example of a third-party tsbench generator plugin (entry point ``tsbench.generators``)."""
from .ar import AutoRegressive

__all__ = ["AutoRegressive"]
__version__ = "0.1.0"
