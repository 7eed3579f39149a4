"""`ownermap demo`: a sample catalog with deliberate gaps and generated shop traffic."""
