"""Engine-side clients."""
