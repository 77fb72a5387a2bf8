"""`agreemint demo`: the whole loop on one machine, with simulated workers of known accuracy."""
