"""Staff UI views of the customers app, one module per feature."""
