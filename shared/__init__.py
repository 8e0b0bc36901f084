"""Code used by both tools: dataset readers, image I/O, anomaly masks, the shard schema."""

__version__ = "0.1.0"
