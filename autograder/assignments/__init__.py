"""One module per assignment: its exercises' references, sample inputs and forbidden operations."""
from . import ch01_cross_correlation, ch02_multichannel

ASSIGNMENT_MODULES = (ch01_cross_correlation, ch02_multichannel)
