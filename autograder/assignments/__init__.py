"""One module per assignment: its exercises' references, sample inputs and forbidden operations."""
from . import (ch01_cross_correlation, ch02_multichannel, ch03_conv3d, ch04_dilated,
               ch05_grouped_separable, ch06_transposed, ch07_gradients, ch08_unpooling,
               ch09_fast_convolution)

ASSIGNMENT_MODULES = (ch01_cross_correlation, ch02_multichannel, ch03_conv3d, ch04_dilated,
                      ch05_grouped_separable, ch06_transposed, ch07_gradients, ch08_unpooling,
                      ch09_fast_convolution)
