"""Chapter 8, Convolution, as code: every equation of the chapter as a numpy function.

The public names (see ``shared/API.md``) are importable from here::

    import textbook_core as tc
    tc.correlate(W, P, padding=1, stride=2)

Modules follow the chapter's sections: `why` (8.1-8.13), `details` (8.14-8.19),
`hierarchy` (8.20-8.26), `gradient` (8.27-8.53 and the problems), `data` (the chapter's
images and kernels), `oracle` (loop versions of every printed sum, for testing).
`plug_in` hands the library your own answer where it is an exercise's (`plugged`).
"""
from .details import output_size
from .gradient import (
    activation_dn,
    avg_pool_da,
    avg_pool_dlw,
    conv_da,
    conv_dlw,
    max_pool_da,
    product_db,
    product_dlz,
    summation_db,
    summation_dlz,
)
from .hierarchy import avg_pool, correlate_fms, max_pool, unvec, vec
from .plugged import plug_in
from .why import conv_matrix, convolve, correlate, impulse, impulse_response, rot180

__all__ = [
    "impulse", "impulse_response", "convolve", "correlate", "rot180", "output_size", "conv_matrix",
    "vec", "unvec", "correlate_fms", "avg_pool", "max_pool",
    "summation_dlz", "summation_db", "conv_da", "conv_dlw", "activation_dn",
    "avg_pool_da", "avg_pool_dlw", "max_pool_da", "product_dlz", "product_db",
]
