"""Where the time and the error go on the target: per-operator profiles and layer dumps."""
