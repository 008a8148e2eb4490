"""kerasdl.export."""
