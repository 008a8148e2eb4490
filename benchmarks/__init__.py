"""Side-by-side timings of kerasdl against its peers, printed as ratios."""
