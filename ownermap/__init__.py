"""ownermap."""
