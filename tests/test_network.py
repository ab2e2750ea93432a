"""The convolution network of Figures 8.9-8.11: a hand-worked forward pass, central-difference
gradient checks of every parameter, training on generated squares and diamonds, bad input."""
import numpy as np
import pytest

from textbook_core import network as nw
from textbook_core.data import shapes_dataset


def hand_net():
    """Two 2x2 kernels on one 4x4 image, ReLU, 3x3 max pooling, two classes."""
    layer = nw.ConvLayer(LW=np.array([[[[1., 0.], [0., 1.]]],       # x[i, j] + x[i+1, j+1]
                                      [[[0., 1.], [-1., 0.]]]]),    # x[i, j+1] - x[i+1, j]
                         b=np.array([-2., 0.]), f="relu", pool="max", size=3)
    return nw.Network([layer], LW=np.array([[1., 1.], [-1., 2.]]), b=np.array([0., 1.]),
                      input_shape=(1, 4, 4))


X_HAND = np.array([[[[1, 0, 2, 1],
                     [0, 3, 1, 0],
                     [2, 1, 0, 1],
                     [1, 0, 1, 2]]]])


def test_forward_worked_by_hand():
    cache = nw.forward(hand_net(), X_HAND)
    N, A = cache["N"], cache["A"]
    # Layer 1, FM 1: LZ = x[i, j] + x[i+1, j+1] = [[1+3, 0+1, 2+0], [0+1, 3+0, 1+1], [2+0, 1+1, 0+2]],
    # N = LZ - 2 (8.32). FM 2: LZ = x[i, j+1] - x[i+1, j] = [[0-0, 2-3, 1-1], [3-2, 1-1, 0-0],
    # [1-1, 0-0, 1-1]], b = 0.
    assert np.array_equal(N[1], [[[[2, -1, 0], [-1, 1, 0], [0, 0, 0]],
                                  [[0, -1, 0], [1, 0, 0], [0, 0, 0]]]])
    assert np.array_equal(A[1], [[[[2, 0, 0], [0, 1, 0], [0, 0, 0]],
                                  [[0, 0, 0], [1, 0, 0], [0, 0, 0]]]])
    # Layer 2: 3x3 max pooling of each FM; p = vec(A^2) = [2, 1].
    assert np.array_equal(A[2], [[[[2]], [[1]]]])
    # Layer 3: n = LW p + b = [2 + 1 + 0, -2 + 2 + 1] = [3, 1]; softmax = [1, e^-2] / (1 + e^-2).
    assert np.array_equal(N[3], [[3, 1]])
    assert np.allclose(A[3], [[1 / (1 + np.exp(-2)), 1 / (1 + np.exp(2))]], rtol=1e-14)
    # F for the label "class 1" is -log a_2 = log(1 + e^2).
    assert nw.loss(hand_net(), X_HAND, [1]) == pytest.approx(np.log(1 + np.exp(2)), rel=1e-14)
    assert np.array_equal(nw.predict(hand_net(), X_HAND), [0])


# Two tiny networks: Figure 8.11's two groups, stride 1 without padding as in the chapter, then
# padding, stride 2 and the other transfer functions. The first ends in 2x3 FMs, so vec's column
# order matters; max pooling 10x15 -> 5x7 and the second network's poolings leave a remainder.
CONFIGS = {
    "relu-max, tanh-avg": ((2, 12, 17), [dict(H=3, r=3, f="relu", pool="max", size=2),
                                       dict(H=2, r=2, f="tanh", pool="avg", size=2)]),
    "padded, strided, logsig": ((2, 9, 7), [dict(H=3, r=3, f="logsig", pool="avg", size=2,
                                                 padding=1, stride=2),
                                            dict(H=2, r=2, f="relu", pool="max", size=2,
                                                 padding=1)]),
}


def tiny_net(config, seed):
    input_shape, groups = CONFIGS[config]
    rng = np.random.default_rng(seed)
    net = nw.network(input_shape, groups, 3, rng=rng)
    for p in nw.parameters(net):                 # non-zero biases and O(1) weights
        p[...] = rng.normal(0, 1, p.shape)
    X = rng.normal(0, 1, (4,) + input_shape)     # continuous values: no max-pool ties
    return net, X, rng


def numerical_gradient(F, x, eps=1e-6):
    """Central difference of the scalar F() for every element of x, changed in place."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = F()
        x[i] = old - eps
        minus = F()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("config", CONFIGS)
def test_loss_gradient_every_parameter(config):
    net, X, rng = tiny_net(config, seed=8)
    labels = rng.integers(0, 3, len(X))
    grads = nw.gradient(nw.backward(net, nw.forward(net, X), labels))
    cache = nw.forward(net, X, keep_indices=True)          # as train() runs it: the forward's maxima
    assert set(cache["indices"]) == {2 * k + 2 for k, layer in enumerate(net.layers) if layer.pool == "max"}
    for g, g_indices in zip(grads, nw.gradient(nw.backward(net, cache, labels))):
        np.testing.assert_array_equal(g, g_indices)
    params = nw.parameters(net)
    assert len(grads) == len(params) == 6
    for p, g in zip(params, grads):
        expected = numerical_gradient(lambda: nw.loss(net, X, labels), p)
        assert np.abs(expected).max() > 1e-4            # the check is not vacuous
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("config", CONFIGS)
def test_feature_map_paths_with_random_upstream_gradient(config):
    """8.29-8.31 across both groups for F = sum(G o A^{M-1}) with a random G: dLW, db and dA^0."""
    net, X, rng = tiny_net(config, seed=9)
    M = 2 * len(net.layers) + 1
    G = rng.normal(0, 1, nw.forward(net, X)["A"][M - 1].shape)

    def F():
        return float(np.sum(G * nw.forward(net, X)["A"][M - 1]))

    grads = nw.backward_fms(net, nw.forward(net, X), G)
    for k, layer in enumerate(net.layers):
        m = 2 * k + 1
        np.testing.assert_allclose(grads["dLW"][m], numerical_gradient(F, layer.LW), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(grads["db"][m], numerical_gradient(F, layer.b), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grads["dA"][0], numerical_gradient(F, X), rtol=1e-6, atol=1e-9)


def test_trained_network_is_right_on_held_back_images():
    net, history, seconds = nw.train_squares_vs_diamonds(seed=0)
    train_images, _ = shapes_dataset(300, rng=0)
    images, labels = shapes_dataset(1000, rng=1)
    seen = {image.tobytes() for image in train_images}
    unseen = np.array([image.tobytes() not in seen for image in images])
    assert unseen.sum() > 200                    # the generator has few distinct images
    assert set(labels[unseen]) == {0, 1}
    untrained = nw.network((1, 15, 15), [dict(H=4, r=3, size=3)], 2, rng=0)
    assert np.mean(nw.predict(untrained, images[:, None]) == labels) < 0.9
    assert np.array_equal(nw.predict(net, images[:, None]), labels)
    assert history[-1] < history[0] < np.log(2)
    assert seconds < 10


def test_training_is_reproducible():
    images, labels = shapes_dataset(40, rng=3)
    net = nw.network((1, 15, 15), [dict(H=2, r=3, size=3, f="tanh")], 2, rng=3)
    a, history_a = nw.train(net, images[:, None], labels, epochs=2, rng=5)
    b, history_b = nw.train(net, images[:, None], labels, epochs=2, rng=5)
    assert history_a == history_b
    assert all(np.array_equal(p, q) for p, q in zip(nw.parameters(a), nw.parameters(b)))
    assert not np.array_equal(nw.parameters(a)[0], nw.parameters(net)[0])   # net itself unchanged


def test_train_steps_are_momentum_gradient_descent():
    """Full batch, two steps: x1 = x0 - lr g(x0); x2 = x1 + momentum (x1 - x0) - lr g(x1)."""
    images, labels = shapes_dataset(6, rng=4)
    X = images[:, None]
    net = nw.network((1, 15, 15), [dict(H=2, r=3, size=3, f="logsig")], 2, rng=4)
    lr, momentum = 0.3, 0.8

    def g(net):
        return nw.gradient(nw.backward(net, nw.forward(net, X), labels))

    one, _ = nw.train(net, X, labels, epochs=1, batch=6, lr=lr, momentum=momentum)
    two, history = nw.train(net, X, labels, epochs=2, batch=6, lr=lr, momentum=momentum)
    x0, x1, x2 = nw.parameters(net), nw.parameters(one), nw.parameters(two)
    for p0, p1, g0 in zip(x0, x1, g(net)):
        np.testing.assert_allclose(p1, p0 - lr * g0, rtol=1e-12, atol=1e-15)
    for p0, p1, p2, g1 in zip(x0, x1, x2, g(one)):
        np.testing.assert_allclose(p2, p1 + momentum * (p1 - p0) - lr * g1, rtol=1e-12, atol=1e-15)
    assert history[1] == nw.loss(two, X, labels)


def test_bad_input_names_the_symbol():
    net = hand_net()
    with pytest.raises(ValueError, match=r"X has R_r, R_c = \(4, 5\) but the network expects \(4, 4\)"):
        nw.forward(net, np.zeros((1, 1, 4, 5)))
    with pytest.raises(ValueError, match=r"X has H\^0=3 FMs but the network expects H\^0=1"):
        nw.predict(net, np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"X must be a batch of images \(Q, H\^0, R_r, R_c\), got shape \(4, 4\)"):
        nw.loss(net, np.zeros((4, 4)), [0])
    with pytest.raises(ValueError, match=r"labels must be Q=1 integers in 0\.\.S\^M-1 = 0\.\.1"):
        nw.loss(net, X_HAND, [2])
    with pytest.raises(ValueError, match=r"transfer function f='sigmoid'"):
        nw.network((1, 4, 4), [dict(H=1, r=2, f="sigmoid")], 2)
    with pytest.raises(ValueError, match=r"kernel c=5 does not fit input R_c=4 with padding P\^d=0"):
        nw.network((1, 6, 4), [dict(H=1, r=5)], 2)
    layer = hand_net().layers[0]
    with pytest.raises(ValueError, match=r"LW\^\{M,M-1\} must be \(S\^M, R\) = \(2, 2\) for vec\(A\^\{M-1\}\) "
                                         r"of shape \(2, 1, 1\), got shape \(2, 3\)"):
        nw.Network([layer], LW=np.ones((2, 3)), b=np.zeros(2), input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match=r"LW has H\^n=1 but the layer below has H\^n=3 FMs"):
        nw.Network([layer], LW=np.ones((2, 2)), b=np.zeros(2), input_shape=(3, 4, 4))


def test_training_without_the_forwards_indices_as_in_the_student_edition(monkeypatch):
    """In the student edition, where the maxima are is part of E8.8's answer (a stub raising
    NotImplementedError) and the student's max_pool_da takes no indices: training still runs,
    through the student's function, and gives the library's result."""
    import textbook_core as tc
    net, X, rng = tiny_net("relu-max, tanh-avg", seed=3)
    labels = rng.integers(0, 3, len(X))
    want = nw.train(net, X, labels, epochs=2, batch=2, rng=0)
    plain_max_pool, library_da = tc.max_pool, tc.max_pool_da

    def max_pool(V, size, *, stride=None, return_indices=False):
        if return_indices:
            raise NotImplementedError("max_positions is part of the answer of exercise E8.8")
        return plain_max_pool(V, size, stride=stride)

    calls = []

    def students_max_pool_da(dLZ, A, size, stride=None):
        calls.append(1)
        return library_da(dLZ, A, size, stride=stride)

    monkeypatch.setattr(tc, "max_pool", max_pool)
    monkeypatch.setattr(tc, "max_pool_da", students_max_pool_da)
    got = nw.train(net, X, labels, epochs=2, batch=2, rng=0)
    assert calls
    for p, q in zip(nw.parameters(want[0]), nw.parameters(got[0])):
        np.testing.assert_allclose(q, p, rtol=1e-12)
    assert got[1] == pytest.approx(want[1], rel=1e-12)
