"""A convolution network classifier built from the chapter's paths (Figures 8.9-8.12).

Figure 8.11 as code: convolution-pooling groups, the conversion to a vector (8.26) and a fully
connected layer with softmax. Layers are numbered as in the book, with the input ``A[0] = X``:

- group k (k = 0, 1, ...) is the convolution layer m = 2k + 1, with kernels LW^{m,m-1}, a tied
  bias b^m (one scalar per kernel, 8.32) and a transfer function f^m, followed by the pooling
  layer m + 1, which has no parameters and a linear transfer: ``A[m+1] = pool(A[m])``;
- the fully connected layer M = 2K + 1 has the matrix LW^{M,M-1} (S^M x R) acting on
  p = vec(A^{M-1}), the bias b^M and softmax.

Forward and backward call only the package's operations: `correlate_fms`, `max_pool` or
`avg_pool` and `vec` going forward; going backward across each group the order of 8.29-8.31,
dN^m -> dLZ^{m,m-1} -> dA^{m-1} -> dN^{m-1} with dN^m -> db^m and dLZ -> dLW, through
`summation_dlz`, `summation_db`, `conv_da`, `conv_dlw`, `activation_dn` and `max_pool_da` or
`avg_pool_da`. Every array carries a leading batch axis of Q images. The performance index is
the cross-entropy averaged over the batch, F = -(1/Q) sum_q log a^M_{t_q,q}.

Examples
--------
One 3x3 image, one 2x2 kernel with bias -1, ReLU, 2x2 max pooling, two classes:

>>> net = Network([ConvLayer(LW=np.array([[[[1., 0.], [0., -1.]]]]), b=np.array([-1.]))],
...               LW=np.array([[1.], [0.]]), b=np.zeros(2), input_shape=(1, 3, 3))
>>> cache = forward(net, np.array([[[[4, 0, 1], [2, 1, 3], [0, 2, 5]]]]))
>>> cache["N"][1]                      # 8.32: LZ + b, one tied bias for the whole FM
array([[[[ 2., -4.],
         [-1., -5.]]]])
>>> cache["A"][2], predict(net, cache["A"][0])     # ReLU, max pool; a^M = softmax([2, 0])
(array([[[[2.]]]]), array([0]))
"""
import copy
import time
from dataclasses import dataclass

import numpy as np

import textbook_core as tc
from textbook_core.data import shapes_dataset

TRANSFER = {
    # name: (f(N), f'(N) evaluated from N and A = f(N)), as in 8.51
    "relu": (lambda N: np.maximum(N, 0), lambda N, A: (N > 0).astype(N.dtype)),
    "tanh": (np.tanh, lambda N, A: 1 - A * A),
    "logsig": (lambda N: np.exp(-np.logaddexp(0, -N)), lambda N, A: A * (1 - A)),
    "purelin": (lambda N: N, lambda N, A: np.ones_like(N)),
}
"""Transfer functions f and their derivatives f' (relu is the book's poslin, tanh its tansig)."""


@dataclass
class ConvLayer:
    """Layers m and m+1 of one group: N^m = LW^{m,m-1} (x) A^{m-1} + b^m, A^m = f(N^m), then pooling.

    Shapes: ``LW (H^m, H^{m-1}, r, c)``, ``b (H^m,)``.

    Attributes
    ----------
    LW, b : ndarray
        Kernels and tied bias (8.21, 8.32).
    f : str
        Transfer function of layer m, a key of `TRANSFER`.
    pool, size : str, int
        ``"max"`` (8.24) or ``"avg"`` (8.22 with w = 1/(r c), no trainable weight) over
        size x size windows with stride equal to the window (floored: leftover rows are ignored).
    padding, stride : int
        P^d and S^t of the convolution.
    """

    LW: np.ndarray
    b: np.ndarray
    f: str = "relu"
    pool: str = "max"
    size: int = 2
    padding: int = 0
    stride: int = 1

    def __post_init__(self):
        self.LW, self.b = np.array(self.LW, dtype=np.float64), np.array(self.b, dtype=np.float64)
        if self.f not in TRANSFER:
            raise ValueError(f"transfer function f={self.f!r} must be one of {sorted(TRANSFER)}")
        if self.pool not in ("max", "avg"):
            raise ValueError(f"pool={self.pool!r} must be 'max' or 'avg'")
        if self.LW.ndim != 4 or self.b.shape != self.LW.shape[:1]:
            raise ValueError(f"LW must be (H^m, H^n, r, c) and b (H^m,), got shapes "
                             f"{self.LW.shape} and {self.b.shape}")


@dataclass
class Network:
    """Figure 8.11: conv-pool groups, vec, then n^M = LW^{M,M-1} vec(A^{M-1}) + b^M and softmax.

    Shapes: ``LW (S^M, R)`` with R = H^{M-1} S_r S_c, ``b (S^M,)``, ``input_shape (H^0, R_r, R_c)``.
    """

    layers: list
    LW: np.ndarray
    b: np.ndarray
    input_shape: tuple

    def __post_init__(self):
        self.LW, self.b = np.array(self.LW, dtype=np.float64), np.array(self.b, dtype=np.float64)
        self.input_shape = tuple(self.input_shape)
        H, S_r, S_c = fm_shape(self.input_shape, self.layers)
        if self.LW.shape != (len(self.b), H * S_r * S_c):
            raise ValueError(f"LW^{{M,M-1}} must be (S^M, R) = ({len(self.b)}, {H * S_r * S_c}) for "
                             f"vec(A^{{M-1}}) of shape {(H, S_r, S_c)}, got shape {self.LW.shape}")


def fm_shape(input_shape, layers):
    """The shape (H^{M-1}, S_r, S_c) of A^{M-1}, the last pooled FMs, by 8.18 layer by layer.

    >>> fm_shape((1, 15, 15), [ConvLayer(LW=np.ones((4, 1, 3, 3)), b=np.zeros(4), size=3)])
    (4, 4, 4)
    """
    H, size = input_shape[0], tuple(input_shape[1:])
    for layer in layers:
        if layer.LW.shape[1] != H:
            raise ValueError(f"LW has H^n={layer.LW.shape[1]} but the layer below has H^n={H} FMs")
        size = tc.output_size(size, layer.LW.shape[-2:], padding=layer.padding, stride=layer.stride)
        H, size = layer.LW.shape[0], tc.output_size(size, (layer.size, layer.size), stride=layer.size)
    return (H,) + size


def network(input_shape, groups, S_M, *, rng=None):
    """A network with random kernels and weights, zero biases: `groups` are `ConvLayer` options.

    Shapes: ``input_shape (H^0, R_r, R_c)``; each group ``dict(H=H^m, r=r^m, ...)``, the other
    keys as in `ConvLayer` (f, pool, size, padding, stride); `S_M` classes.

    Notes
    -----
    Kernels are drawn with variance 2/fan-in for ReLU and 1/fan-in otherwise (fan-in =
    H^{m-1} r c); the size R of vec(A^{M-1}) follows from `output_size` layer by layer.

    Examples
    --------
    >>> net = network((1, 15, 15), [dict(H=4, r=3, size=3)], 2, rng=0)
    >>> net.layers[0].LW.shape, net.LW.shape       # 13x13 pooled to 4x4: R = 4 * 4 * 4
    ((4, 1, 3, 3), (2, 64))
    >>> network((1, 4, 4), [dict(H=2, r=5)], 2)
    Traceback (most recent call last):
    ...
    ValueError: kernel r=5 does not fit input R_r=4 with padding P^d=0
    """
    rng, H, layers = np.random.default_rng(rng), input_shape[0], []
    for group in groups:
        group = dict(group)
        H_m, r = group.pop("H"), group.pop("r")
        gain = 2.0 if group.get("f", "relu") == "relu" else 1.0
        LW = rng.normal(0, np.sqrt(gain / (H * r * r)), (H_m, H, r, r))
        layers.append(ConvLayer(LW=LW, b=np.zeros(H_m), **group))
        H = H_m
    R = int(np.prod(fm_shape(input_shape, layers)))
    return Network(layers, rng.normal(0, np.sqrt(1 / R), (S_M, R)), np.zeros(S_M), input_shape)


def _check(net, X, labels=None):
    X = np.asarray(X, dtype=np.float64)
    H_0, R_r, R_c = net.input_shape
    if X.ndim != 4:
        raise ValueError(f"X must be a batch of images (Q, H^0, R_r, R_c), got shape {X.shape}")
    if X.shape[1] != H_0:
        raise ValueError(f"X has H^0={X.shape[1]} FMs but the network expects H^0={H_0}")
    if X.shape[2:] != (R_r, R_c):
        raise ValueError(f"X has R_r, R_c = {X.shape[2:]} but the network expects ({R_r}, {R_c})")
    if labels is not None:
        labels = np.asarray(labels)
        S_M = len(net.b)
        if labels.shape != X.shape[:1] or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= S_M:
            raise ValueError(f"labels must be Q={len(X)} integers in 0..S^M-1 = 0..{S_M - 1}, "
                             f"got {labels!r}")
    return X, labels


def forward(net, X, *, keep_indices=False):
    """Figure 8.11 forward: A^0 = X through every layer to a^M = softmax(n^M).

    Shapes: ``X (Q, H^0, R_r, R_c)`` -> cache ``{"N": [...], "A": [...]}`` indexed by layer
    m = 0..M: ``A[m] (Q, H^m, S_r, S_c)`` for the groups, ``N[M], A[M] (Q, S^M)``. With
    ``keep_indices=True`` (training) the cache also holds ``"indices": {m+1: ...}``, where each max
    pooling layer found its maxima, so that `backward_fms` does not search them again.

    Notes
    -----
    Convolution layer m: ``N^m = sum_l LW^{m,m-1,h,l} (x) A^{m-1,l} + b^m`` (8.21, 8.32, b^m
    broadcast over rows and columns), ``A^m = f(N^m)``. Pooling layer m+1:
    ``N^{m+1} = A^{m+1} = pool(A^m)``. Output: ``n^M = LW^{M,M-1} vec(A^{M-1}) + b^M`` (8.26),
    ``a^M = exp(n^M) / sum exp(n^M)``.

    Examples
    --------
    >>> net = network((1, 3, 3), [dict(H=1, r=2)], 2, rng=0)
    >>> [A.shape for A in forward(net, np.ones((5, 1, 3, 3)))["A"]]     # A^0 .. A^3
    [(5, 1, 3, 3), (5, 1, 2, 2), (5, 1, 1, 1), (5, 2)]
    >>> forward(net, np.ones((5, 2, 3, 3)))
    Traceback (most recent call last):
    ...
    ValueError: X has H^0=2 FMs but the network expects H^0=1
    """
    X, _ = _check(net, X)
    N, A, indices = [None], [X], {}
    for layer in net.layers:
        LZ = tc.correlate_fms(layer.LW, A[-1], padding=layer.padding, stride=layer.stride)  # 8.21
        N.append(LZ + layer.b[:, None, None])                                              # 8.32
        A.append(TRANSFER[layer.f][0](N[-1]))
        if layer.pool == "max" and keep_indices:                                          # 8.24-8.25
            Z, indices[len(A)] = tc.max_pool(A[-1], layer.size, return_indices=True)
        elif layer.pool == "max":
            Z = tc.max_pool(A[-1], layer.size)
        else:                                                                             # 8.22-8.23
            Z = tc.avg_pool(A[-1], layer.size)
        N.append(Z)
        A.append(N[-1])
    N.append(tc.vec(A[-1]) @ net.LW.T + net.b)                                             # 8.26
    A.append(np.exp(N[-1] - np.logaddexp.reduce(N[-1], axis=-1, keepdims=True)))           # softmax
    cache = {"N": N, "A": A}
    if keep_indices:
        cache["indices"] = indices
    return cache


def backward_fms(net, cache, dA):
    """8.29-8.31 across every group, from an upstream dA^{M-1} back to dA^0.

    Shapes: ``dA`` like ``cache["A"][M-1]`` -> ``{"dLW": {m: ...}, "db": {m: ...}, "dN": {m: ...},
    "dA": {m: ...}}`` for the convolution layers m (dA also for the pooling layers and m = 0).

    Notes
    -----
    Pooling layer m+1 (linear, no bias): dN^{m+1} = dLZ^{m+1} = dA^{m+1}, and dA^m comes from
    E8.8 (max) or P8.3 (average). Convolution layer m::

        dN^m = f'(N^m) o dA^m                           (8.53)
        db^m = sum_ij dn^m_ij            (8.37)   dLZ^{m,m-1} = dN^m            (8.35)
        dLW^{m,m-1} = dLZ^{m,m-1} (x) A^{m-1}  (8.48)   dA^{m-1} = rot180(LW) (x) dLZ  (8.45)

    The parameter gradients are summed over the batch (the kernels are shared).
    """
    N, A = cache["N"], cache["A"]
    grads = {"dLW": {}, "db": {}, "dN": {}, "dA": {len(A) - 2: dA}}
    for k in reversed(range(len(net.layers))):
        layer, m = net.layers[k], 2 * k + 1
        if layer.pool == "max":                                                       # E8.8
            found = {"indices": cache["indices"][m + 1]} if "indices" in cache else {}   # the forward's maxima
            dA = tc.max_pool_da(dA, A[m], layer.size, **found)
        else:                                                                         # P8.3
            dA = tc.avg_pool_da(dA, layer.size, input_shape=A[m].shape)
        grads["dA"][m] = dA
        dN = tc.activation_dn(dA, TRANSFER[layer.f][1](N[m], A[m]))                   # 8.53
        grads["dN"][m], grads["db"][m] = dN, tc.summation_db(dN)                      # 8.37
        dLZ = tc.summation_dlz(dN)                                                    # 8.35
        grads["dLW"][m] = tc.conv_dlw(dLZ, A[m - 1], padding=layer.padding, stride=layer.stride,
                                      kernel_shape=layer.LW.shape[-2:])               # 8.48
        dA = tc.conv_da(dLZ, layer.LW, A[m - 1].shape, padding=layer.padding, stride=layer.stride)
        grads["dA"][m - 1] = dA                                                       # 8.45
    return grads


def backward(net, cache, labels):
    """The gradient of the cross-entropy F for every parameter, layer M down to layer 1.

    Shapes: ``labels (Q,)`` integers -> ``backward_fms``'s dict, with ``dLW[M] (S^M, R)`` and
    ``db[M] (S^M,)`` added for the fully connected layer.

    Notes
    -----
    Softmax with cross-entropy gives the sensitivity ``dn^M = (a^M - t) / Q`` (t one-hot); then
    ``dLW^{M,M-1} = dn^M p^T``, ``db^M = dn^M`` (both summed over the batch) and
    ``dp = (LW^{M,M-1})^T dn^M``, which `unvec` turns back into dA^{M-1} (the inverse of 8.26).
    """
    A = cache["A"]
    _, labels = _check(net, A[0], labels)
    M = len(A) - 1
    dN = A[M].copy()
    dN[np.arange(len(labels)), labels] -= 1
    dN /= len(labels)
    grads = backward_fms(net, cache, tc.unvec(dN @ net.LW, A[M - 1].shape[1:]))
    grads["dN"][M], grads["dLW"][M], grads["db"][M] = dN, dN.T @ tc.vec(A[M - 1]), dN.sum(axis=0)
    return grads


def _indices_available():
    """Whether max pooling can say where its maxima are. In the student edition that is part of
    E8.8's answer (a stub); training then hands the student's max_pool_da no indices."""
    try:
        tc.max_pool(np.zeros((1, 1)), 1, return_indices=True)
    except NotImplementedError:
        return False
    return True


def parameters(net):
    """Every trainable array in the order LW^1, b^1, LW^3, b^3, ..., LW^M, b^M (views, not copies)."""
    return [p for layer in net.layers for p in (layer.LW, layer.b)] + [net.LW, net.b]


def gradient(grads):
    """The arrays of `backward` in the order of `parameters`: dLW^1, db^1, ..., dLW^M, db^M."""
    return [g[m] for m in sorted(grads["dLW"]) for g in (grads["dLW"], grads["db"])]


def loss(net, X, labels):
    """F = -(1/Q) sum_q log a^M_{t_q,q}, the mean cross-entropy of the batch (a float)."""
    X, labels = _check(net, X, labels)
    n = forward(net, X)["N"][-1]
    log_a = n - np.logaddexp.reduce(n, axis=-1, keepdims=True)
    return float(-log_a[np.arange(len(labels)), labels].mean())


def predict(net, X):
    """The class with the largest a^M for every image: ``X (Q, H^0, R_r, R_c)`` -> ``(Q,)`` ints."""
    return forward(net, X)["A"][-1].argmax(axis=-1)


def train(net, X, labels, *, epochs=10, batch=16, lr=0.1, momentum=0.9, rng=None):
    """Minibatch gradient descent with momentum; returns a trained copy and F after every epoch.

    Each step: ``v <- momentum v - lr g`` and ``x <- x + v`` for every parameter x with gradient
    g from `backward`. The batches are a fresh permutation each epoch, drawn from `rng`.
    """
    X, labels = _check(net, X, labels)
    net, rng = copy.deepcopy(net), np.random.default_rng(rng)
    keep = _indices_available()
    params = parameters(net)
    velocity = [np.zeros_like(p) for p in params]
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            grads = gradient(backward(net, forward(net, X[idx], keep_indices=keep), labels[idx]))
            for p, v, g in zip(params, velocity, grads):
                v *= momentum
                v -= lr * g
                p += v
        history.append(loss(net, X, labels))
    return net, history


def train_squares_vs_diamonds(seed=0, *, n_train=300, epochs=12, groups=None):
    """Figure 8.4 and E8.10: learn to tell generated squares from diamonds (15x15 images).

    The network is conv (4 kernels 3x3, ReLU) -> 3x3 max pool -> vec -> softmax over the two
    classes, as in Figure 8.11 with one group; the images come from
    `textbook_core.data.shapes_dataset` (labels 0 = square, 1 = diamond) with the given seed.
    Returns ``(net, history, seconds)``: the trained network, F after each epoch, the time taken.
    """
    images, labels = shapes_dataset(n_train, rng=seed)
    groups = [dict(H=4, r=3, size=3)] if groups is None else groups
    start = time.perf_counter()
    net = network((1,) + images.shape[1:], groups, 2, rng=seed)
    net, history = train(net, images[:, None], labels, epochs=epochs, rng=seed)
    return net, history, time.perf_counter() - start
