"""One module per assignment: its exercises' references, sample inputs and forbidden operations."""
from . import (ch01_cross_correlation, ch02_multichannel, ch03_conv3d, ch04_dilated,
               ch05_grouped_separable)

ASSIGNMENT_MODULES = (ch01_cross_correlation, ch02_multichannel, ch03_conv3d, ch04_dilated,
                      ch05_grouped_separable)
