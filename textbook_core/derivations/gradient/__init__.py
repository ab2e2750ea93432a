"""Gradient calculation (8.27-8.53, P8.3, P8.4), in the chapter's order: the sensitivities and the
summation net input, the convolution weight function, the activation function, average pooling."""
from textbook_core.derivations.gradient import sensitivities  # noqa: F401  isort: skip
from textbook_core.derivations.gradient import weights  # noqa: F401  isort: skip
from textbook_core.derivations.gradient import activation  # noqa: F401  isort: skip
from textbook_core.derivations.gradient import pooling  # noqa: F401  isort: skip
