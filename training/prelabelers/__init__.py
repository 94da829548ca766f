"""Pre-labeling backends: each turns tasks into Label Studio results with a score (see base.Backend)."""
