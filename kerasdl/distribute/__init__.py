"""kerasdl.distribute."""
