"""detector: RealNet feature selection, reconstruction and residual selection for anomaly detection."""
