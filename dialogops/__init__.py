"""dialogops: outbound calling campaigns on the Dialog platform as code."""

__version__ = "0.1.0"
