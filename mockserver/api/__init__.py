"""HTTP handlers, one module per API family plus the control plane and media."""
