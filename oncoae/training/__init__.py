"""Lightning training of the autoencoders (imports Lightning: only training jobs should import this package)."""
