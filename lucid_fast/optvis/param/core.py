"""The parameterization graph: native stages with explicit forward and backward, run outside TensorFlow.

Lucid builds an image as a TF expression of ``tf.Variable``s (``to_valid_rgb(fft_image(shape))``). lucid_fast
builds the same expression as a small graph of :class:`Node`s whose stages are the native kernels of
:mod:`lucid_fast.ops`: each node computes its value from its inputs (``forward``) and maps the gradient of its
output to gradients of its inputs (``backward``). Leaves (:class:`Param`) hold the optimized arrays; their
initial values are drawn when the engine calls :meth:`ParamGraph.initialize` with the run's generator, so a
seed fixes the whole run and nothing random happens when a parameterization is built.

Nodes support the arithmetic notebooks use on Lucid tensors: ``a + b`` (numpy broadcasting, e.g. a batch-1
shared term plus a per-image term), ``a - b``, ``k * a``, ``a * b`` (elementwise, broadcasting), ``a ** p``,
``a.mean(axis=-1)`` (``tf.reduce_mean`` keeping the axis), ``a / k`` for a number k, numpy/TF indexing
(``a[0]``, ``a[..., :3]``, ``a[::-1]``), :func:`concat` and :func:`stack`. A node is not a tensor: TensorFlow
ops and numpy functions applied to one raise a TypeError naming these replacements.

Devices: a graph runs where its arrays live (:meth:`ParamGraph.place`: the host by default, or a CUDA device when
the model runs there). A stage allocates and computes on the device of its inputs (``ops.device_of``) through that
device's array module and ops; a stage class lists the device kinds it supports in ``device_kinds`` (the host only,
unless it says more), and placing a graph on a device one of its stages does not support raises an error naming it.
"""
import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks


class Node:
    """A stage of an image parameterization. Subclasses set ``shape`` and ``inputs`` and implement
    ``forward(*input_values)`` and ``backward(grad_out, *input_values)``; values are float32 numpy arrays."""

    inputs = ()
    shape = ()
    device_kinds = ("cpu",)  # where forward/backward can run: "cpu" (numpy), "cuda" (CuPy) -- ParamGraph.place
    __array_ufunc__ = None  # ``array * node`` defers to Node.__rmul__ instead of looping over the array

    # ---- not a tensor: TensorFlow and numpy functions get an error naming what to use instead
    def __tf_tensor__(self, dtype=None, name=None):
        """TensorFlow's conversion hook (``tf.convert_to_tensor``, hence every TF op): a parameterization runs
        natively, outside TensorFlow, so it cannot become a tensor; raises a TypeError naming the replacement."""
        raise TypeError(not_a_tensor_message(self, "a TensorFlow op"))

    def __array__(self, dtype=None, copy=None):
        """numpy's conversion hook (``np.asarray``, ``np.stack``, ...): raises a TypeError naming the replacement
        (without it numpy made a meaningless 0-d object array)."""
        raise TypeError(not_a_tensor_message(self, "a numpy function"))

    def forward(self, *input_values):
        raise NotImplementedError

    def backward(self, grad_out, *input_values):
        """Returns one gradient (or None) per input, given d(objective)/d(this node's output)."""
        raise NotImplementedError

    # ---- arithmetic, so notebooks can combine parameterizations as they combine Lucid tensors
    def __add__(self, other):
        return Add(self, as_node(other))

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # sum([...]) starts from 0
            return self
        return Add(as_node(other), self)

    def __sub__(self, other):
        return Add(self, Scale(as_node(other), -1.0))

    def __rsub__(self, other):
        return Add(as_node(other), Scale(self, -1.0))

    def __mul__(self, other):
        if isinstance(other, (int, float, np.floating, np.integer)) and not isinstance(other, bool):
            return Scale(self, float(other))
        if isinstance(other, (Node, np.ndarray, list, tuple)):
            return Mul(self, as_node(other))  # elementwise, numpy broadcasting
        raise TypeError(f"a parameterization can be multiplied by a number, a parameterization or an array, "
                        f"got {type(other).__name__}")

    __rmul__ = __mul__

    def __truediv__(self, other):
        """``node / k`` for a number k: ``node * (1 / k)`` (its backward scales the gradient by 1 / k)."""
        if isinstance(other, (int, float, np.floating, np.integer)) and not isinstance(other, bool):
            if other == 0:
                raise ZeroDivisionError("a parameterization divided by 0")
            if not np.isfinite(other):
                raise ValueError(f"a parameterization can be divided by a finite number only, got {other!r}")
            return Scale(self, 1.0 / float(other))
        raise TypeError(f"a parameterization can be divided by a number only, got {type(other).__name__}; for an "
                        f"array write node * (1 / array), for another parameterization node * other ** -1")

    def __rtruediv__(self, other):
        raise TypeError(f"{type(other).__name__} / parameterization is not supported: write k * node ** -1")

    def __pow__(self, p):
        if not isinstance(p, (int, float, np.floating, np.integer)) or isinstance(p, bool):
            raise TypeError(f"a parameterization can be raised to a number only, got {type(p).__name__}")
        return Pow(self, float(p))

    def mean(self, axis=-1, keepdims=True):
        """The mean over one axis (the channels by default), kept as a size-1 axis unless ``keepdims=False``."""
        return Mean(self, axis, keepdims)

    def __neg__(self):
        return Scale(self, -1.0)

    def __getitem__(self, key):
        return Index(self, key)

    def __repr__(self):
        return f"{type(self).__name__}{tuple(self.shape)}"


class Param(Node):
    """A leaf: an optimized float32 array, initialized by ``init_fn(rng) -> array`` or a given value (drawn on the
    host from the run's generator, then put on the graph's device)."""

    device_kinds = ("cpu", "cuda")
    device = None  # set by ParamGraph.place; None is the host

    def __init__(self, shape, init_fn=None, init_val=None, name="param"):
        self.shape = checks.check_shape(name, shape)
        if any(s < 1 for s in self.shape):
            raise ValueError(f"{name}: every dimension of the shape must be >= 1, got {self.shape}")
        if init_val is not None:
            init_val = np.asarray(init_val, dtype=np.float32)
            if init_val.shape != self.shape:
                raise ValueError(f"{name}: init_val must have shape {self.shape}, got {init_val.shape}")
            if not np.isfinite(init_val).all():
                raise ValueError(f"{name}: init_val contains NaN or inf")
        self.init_fn = init_fn
        self.init_val = init_val
        self.name = name
        self.value = None

    def initialize(self, rng):
        if self.init_val is not None:
            val = self.init_val
        else:
            val = np.asarray(self.init_fn(rng), dtype=np.float32).reshape(self.shape)
        self.value = ops.device("cpu" if self.device is None else self.device).empty(self.shape)
        self.value[...] = val

    def forward(self):
        if self.value is None:
            raise RuntimeError(f"{self.name} is not initialized: run it through render_vis / make_vis_T")
        return self.value


def normal_init(shape, sd):
    """Initializer drawing N(0, sd^2) with the run's generator (Lucid's init, without the global RNG)."""
    return lambda rng: rng.normal(0.0, sd, size=shape).astype(np.float32)


class Constant(Node):
    device_kinds = ("cpu", "cuda")

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float32)
        self.shape = self.value.shape
        self._placed = self.value

    def place(self, device):
        """Keeps a copy of the value on ``device`` (made once), returned by forward."""
        self._placed = self.value if device.is_host else device.put(self.value)

    def forward(self):
        return self._placed


NOT_A_TENSOR = ("a lucid_fast parameterization is not a tensor: it runs natively, outside TensorFlow, so {what} "
                "cannot take it. Use param.stack / param.concat for tf.stack / tf.concat, "
                "recipes.batch_nodes.stop_gradient for tf.stop_gradient, +, -, *, / (by a number), ** and "
                "indexing (t[..., :3]) for arithmetic, node.mean(axis) for tf.reduce_mean; a TF computation on the "
                "image goes in the transforms list (a callable on the model's input) or in param.TFParam; "
                "vis(node) gives its current value (docs/MIGRATING.md)")


def not_a_tensor_message(node, what):
    return f"{type(node).__name__}{tuple(node.shape)}: " + NOT_A_TENSOR.format(what=what)


def as_node(x):
    if isinstance(x, Node):
        return x
    if isinstance(x, (int, float, np.ndarray, list, tuple)):
        return Constant(x)
    raise TypeError(f"cannot combine a parameterization with {type(x).__name__}")


def _unbroadcast(grad, shape):
    """Sums grad over the axes numpy broadcasting expanded to reach grad.shape from shape."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


class Add(Node):
    def __init__(self, a, b):
        self.inputs = (a, b)
        try:
            self.shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"cannot add parameterizations of shapes {a.shape} and {b.shape}") from None

    device_kinds = ("cpu", "cuda")

    def forward(self, a, b):
        dev = ops.device_of(a, b)
        out = dev.empty(self.shape)
        dev.xp.add(a, b, out=out)
        return out

    def backward(self, grad_out, a, b):
        return _unbroadcast(grad_out, a.shape), _unbroadcast(grad_out, b.shape)


class Scale(Node):
    def __init__(self, a, k):
        self.inputs = (a,)
        self.shape = a.shape
        self.k = float(k)

    device_kinds = ("cpu", "cuda")

    def forward(self, a):
        dev = ops.device_of(a)
        out = dev.empty(self.shape)
        dev.xp.multiply(a, np.float32(self.k), out=out)
        return out

    def backward(self, grad_out, a):
        return (grad_out * np.float32(self.k),)


class Mul(Node):
    """Elementwise product of two parameterizations (or one and a constant array), numpy broadcasting."""

    def __init__(self, a, b):
        self.inputs = (a, b)
        try:
            self.shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"cannot multiply parameterizations of shapes {a.shape} and {b.shape}") from None

    device_kinds = ("cpu", "cuda")

    def forward(self, a, b):
        dev = ops.device_of(a, b)
        out = dev.empty(self.shape)
        dev.xp.multiply(a, b, out=out)
        return out

    def backward(self, grad_out, a, b):  # d(a*b) = b da + a db
        return _unbroadcast(grad_out * b, a.shape), _unbroadcast(grad_out * a, b.shape)


class Pow(Node):
    """``a ** p`` elementwise (a real exponent: keep ``a`` positive unless ``p`` is a whole number)."""

    def __init__(self, a, p):
        if not np.isfinite(p):
            raise ValueError(f"a parameterization's exponent must be finite, got {p!r}")
        self.inputs = (a,)
        self.shape = a.shape
        self.p = float(p)

    device_kinds = ("cpu", "cuda")

    def forward(self, a):
        dev = ops.device_of(a)
        out = dev.empty(self.shape)
        dev.xp.power(a, np.float32(self.p), out=out)
        return out

    def backward(self, grad_out, a):  # d(a**p) = p a**(p-1) da
        if self.p == 0.0:
            return (None,)
        xp = ops.device_of(a).xp
        return (grad_out * (np.float32(self.p) * xp.power(a, np.float32(self.p - 1.0))),)


class Mean(Node):
    """The mean over one axis of a parameterization (``tf.reduce_mean(t, axis, keepdims)``)."""

    def __init__(self, a, axis, keepdims):
        if not isinstance(axis, (int, np.integer)) or not -len(a.shape) <= axis < len(a.shape):
            raise ValueError(f"mean: axis must be an int in [-{len(a.shape)}, {len(a.shape)}), got {axis!r}")
        self.inputs = (a,)
        self.axis = int(axis) % len(a.shape)
        self.keepdims = bool(keepdims)
        shape = list(a.shape)
        if self.keepdims:
            shape[self.axis] = 1
        else:
            del shape[self.axis]
        self.shape = tuple(shape)

    device_kinds = ("cpu", "cuda")

    def forward(self, a):
        dev = ops.device_of(a)
        out = dev.empty(self.shape)
        dev.xp.mean(a, axis=self.axis, keepdims=self.keepdims, out=out)
        return out

    def backward(self, grad_out, a):  # every input along the axis gets 1/n of its mean's gradient
        xp = ops.device_of(a).xp
        g = grad_out if self.keepdims else xp.expand_dims(grad_out, self.axis)
        n = a.shape[self.axis]
        return (xp.broadcast_to(g / np.float32(n), a.shape).astype(np.float32),)


def _is_basic_key(key):
    items = key if isinstance(key, tuple) else (key,)
    return all(k is Ellipsis or k is None or isinstance(k, (slice, int, np.integer)) for k in items)


class Index(Node):
    """``node[key]`` with numpy's (and TensorFlow's) indexing rules: ints, slices, ``...``, ``None`` and 1-D
    integer arrays, e.g. ``t[0]`` (the first image, batch axis dropped), ``t[0:1]``, ``t[::-1]``, ``t[..., :3]``.
    Backward writes (or, for repeated array indices, adds) the gradient back where the values came from."""

    def __init__(self, a, key):
        items = key if isinstance(key, tuple) else (key,)
        for k in items:
            ok = k is Ellipsis or k is None or isinstance(k, (slice, int, np.integer)) and not isinstance(k, bool)
            if not ok:
                arr = np.asarray(k) if isinstance(k, (list, np.ndarray)) else None
                ok = arr is not None and arr.ndim == 1 and arr.size > 0 and np.issubdtype(arr.dtype, np.integer)
            if not ok:
                raise ValueError(f"parameterizations support numpy-style indexing with ints, slices, ..., None and "
                                 f"1-D int arrays; got {key!r}")
        try:
            probe = np.broadcast_to(np.zeros((), np.bool_), a.shape)[key]
        except IndexError as err:
            raise ValueError(f"index {key!r} does not fit a parameterization of shape {tuple(a.shape)}: {err}") from None
        if probe.size == 0:
            raise ValueError(f"index {key!r} of a parameterization of shape {tuple(a.shape)} selects nothing")
        self.inputs = (a,)
        self.key = key
        self.basic = _is_basic_key(key)
        self.shape = tuple(probe.shape)

    device_kinds = ("cpu", "cuda")

    def forward(self, a):
        out = ops.device_of(a).empty(self.shape)
        out[...] = a[self.key]
        return out

    def backward(self, grad_out, a):
        xp = ops.device_of(a).xp
        g = xp.zeros(a.shape, np.float32)
        if self.basic:
            g[self.key] = grad_out
        else:
            xp.add.at(g, self.key, grad_out)
        return (g,)


class Stack(Node):
    """``tf.stack`` of parameterizations (or arrays) of one shape along a new axis."""

    def __init__(self, nodes, axis=0):
        nodes = [as_node(n) for n in nodes]
        if not nodes:
            raise ValueError("stack needs at least one parameterization")
        shapes = {tuple(n.shape) for n in nodes}
        if len(shapes) != 1:
            raise ValueError(f"stack: every item must have the same shape, got {[tuple(n.shape) for n in nodes]}")
        nd = len(nodes[0].shape) + 1
        if not -nd <= axis < nd:
            raise ValueError(f"stack: axis must be in [-{nd}, {nd}), got {axis}")
        self.axis = axis % nd
        self.inputs = tuple(nodes)
        shape = list(nodes[0].shape)
        shape.insert(self.axis, len(nodes))
        self.shape = tuple(shape)

    device_kinds = ("cpu", "cuda")

    def forward(self, *vals):
        dev = ops.device_of(*vals)
        out = dev.empty(self.shape)
        dev.xp.stack(vals, axis=self.axis, out=out)
        return out

    def backward(self, grad_out, *vals):
        xp = ops.device_of(grad_out).xp
        return tuple(xp.take(grad_out, i, axis=self.axis) for i in range(len(vals)))


def stack(nodes, axis=0):
    """Stacks parameterizations and/or constant arrays along a new axis (``tf.stack``): e.g.
    ``param.stack([t[0], photo])`` puts an optimized image and a fixed photo in one batch."""
    return Stack(nodes, axis)


class Concat(Node):
    def __init__(self, nodes, axis=-1):
        nodes = [as_node(n) for n in nodes]
        if not nodes:
            raise ValueError("concat needs at least one parameterization")
        nd = len(nodes[0].shape)
        self.axis = axis % nd
        for n in nodes:
            other = [s for i, s in enumerate(n.shape) if i != self.axis]
            first = [s for i, s in enumerate(nodes[0].shape) if i != self.axis]
            if len(n.shape) != nd or other != first:
                raise ValueError(f"concat: shapes {[x.shape for x in nodes]} differ outside axis {axis}")
        self.inputs = tuple(nodes)
        shape = list(nodes[0].shape)
        shape[self.axis] = sum(n.shape[self.axis] for n in nodes)
        self.shape = tuple(shape)

    device_kinds = ("cpu", "cuda")

    def forward(self, *vals):
        dev = ops.device_of(*vals)
        out = dev.empty(self.shape)
        dev.xp.concatenate(vals, axis=self.axis, out=out)
        return out

    def backward(self, grad_out, *vals):
        splits = np.cumsum([v.shape[self.axis] for v in vals])[:-1]
        return tuple(ops.device_of(grad_out).xp.split(grad_out, splits.tolist(), axis=self.axis))


def concat(nodes, axis=-1):
    """Concatenates parameterizations (channels by default, ``axis=0`` for the batch)."""
    return Concat(nodes, axis)


class ParamGraph:
    """Runs a parameterization: initialization, forward to the image, backward to its leaves."""

    def __init__(self, output):
        if not isinstance(output, Node):
            raise TypeError(f"param_f must produce a lucid_fast parameterization (a param.Node), got "
                            f"{type(output).__name__}; build one with lucid_fast.optvis.param (e.g. param.image(128))")
        self.output = output
        order, seen = [], set()

        def visit(n):
            if id(n) in seen:
                return
            seen.add(id(n))
            for i in n.inputs:
                visit(i)
            order.append(n)

        visit(output)
        self.order = order
        self.params = [n for n in order if isinstance(n, Param)]
        self.tf_params = [n for n in order if isinstance(n, TFParam)]
        self._values = {}
        self.device = ops.device("cpu")

    def place(self, device):
        """Runs the graph on ``device`` (an ``ops.Device`` or ``"cpu"`` / ``"cuda:N"``; call before
        :meth:`initialize`): its parameters are allocated there and every stage computes there.

        Raises:
            NotImplementedError: a stage of the graph has no implementation for the device (its class's
                ``device_kinds``), named with what to do about it.
        """
        device = ops.device(device)
        for n in self.order:
            if device.kind not in type(n).device_kinds:
                raise NotImplementedError(
                    f"the parameterization stage {n!r} ({type(n).__module__}.{type(n).__name__}) runs on "
                    f"{' and '.join(type(n).device_kinds)} only, not on {device.name}, where the model runs; "
                    f"no host fallback is made inside a step. Use a parameterization whose stages support "
                    f"{device.kind} (param.image, fft_image, pixel_image, to_valid_rgb, lowres_tensor without batch "
                    f"interpolation or offset, arithmetic), or run the model on the CPU")
        for n in self.order:
            if isinstance(n, Param):
                n.device = None if device.is_host else device
            elif isinstance(n, Constant):
                n.place(device)
        self.device = device

    @property
    def output_shape(self):
        """The shape of the image the graph makes (NHWC)."""
        return tuple(self.output.shape)

    def initialize(self, rng):
        for p in self.order:  # topological order: deterministic draws for a given generator
            if isinstance(p, (Param, TFParam)) or hasattr(p, "initialize"):  # leaves; stages with randomness
                p.initialize(rng)

    def forward(self):
        vals = {}
        for n in self.order:
            vals[id(n)] = n.forward(*[vals[id(i)] for i in n.inputs])
        self._values = vals
        return vals[id(self.output)]

    def backward(self, grad_out):
        """Returns {Param: gradient} for d(objective)/d(leaf), given the gradient at the output image."""
        vals = self._values
        grads = {id(self.output): grad_out}
        result = {}
        for n in reversed(self.order):
            g = grads.pop(id(n), None)
            if g is None:
                continue
            if isinstance(n, Param):
                result[n] = g
                continue
            if isinstance(n, TFParam):
                n.backward(g)  # keeps the variables' gradients on the node, for apply_ascent
                continue
            in_grads = n.backward(g, *[vals[id(i)] for i in n.inputs])
            for i, gi in zip(n.inputs, in_grads):
                if gi is None or isinstance(i, Constant):
                    continue
                prev = grads.get(id(i))
                grads[id(i)] = gi if prev is None else prev + gi
        return result


class TFParam(Node):
    """A parameterization computed by TensorFlow from its own ``tf.Variable``s (a CPPN, a user's network).

    ``build(rng) -> (variables, image_fn)``: called when the run initializes its parameters, with the run's
    generator (use it to seed initializers); ``image_fn()`` returns the NHWC float32 image tensor from the
    variables. The engine runs the forward and the vector-Jacobian product as tf.functions and updates the
    variables with a Keras Adam of the run's settings (ascent), so such a stage joins a render like a native
    one; it is slower than a native stage only by what TensorFlow costs.
    """

    def __init__(self, shape, build, name="tf_param"):
        self.shape = checks.check_shape(name, shape)
        if len(self.shape) != 4 or min(self.shape) < 1:
            raise ValueError(f"{name}: shape must be (batch, height, width, channels), got {shape!r}")
        self.build, self.name = build, name
        self.variables = None
        self.grads = None
        self._optimizer = None

    def initialize(self, rng):
        import tensorflow as tf

        variables, image_fn = self.build(rng)
        self.variables = list(variables)
        shape = self.shape

        @tf.function
        def forward_t():
            return tf.ensure_shape(tf.cast(image_fn(), tf.float32), shape)

        @tf.function
        def vjp_t(grad_out_t):
            with tf.GradientTape() as tape:
                out_t = tf.cast(image_fn(), tf.float32)
            return tape.gradient(out_t, self.variables, output_gradients=grad_out_t,
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)

        self._forward_t, self._vjp_t = forward_t, vjp_t
        self._optimizer = None

    def forward(self):
        if self.variables is None:
            raise RuntimeError(f"{self.name} is not initialized: run it through render_vis / make_vis_T")
        out = ops.empty_aligned(self.shape)
        out[...] = self._forward_t().numpy()
        return out

    def backward(self, grad_out):
        import tensorflow as tf

        self.grads = self._vjp_t(tf.constant(np.asarray(grad_out, np.float32)))
        return ()

    def apply_ascent(self, settings):
        """One ascent step on the variables with the last gradients (``settings``: render.Adam, or a
        render.TFOptimizer, which then runs its TensorFlow optimizer on them)."""
        import tensorflow as tf

        if callable(getattr(settings, "ascend_variables", None)):
            settings.ascend_variables(id(self), self.variables, list(self.grads))
            return
        if self._optimizer is None:
            opt = tf.keras.optimizers.Adam(settings.learning_rate, beta_1=settings.beta_1,
                                           beta_2=settings.beta_2, epsilon=settings.epsilon)
            opt.build(self.variables)  # its slots exist before the tf.function below is traced
            variables = self.variables

            @tf.function
            def ascend_t(grads):  # one traced update: eager Keras apply_gradients costs ~0.1 s per step
                opt.apply_gradients([(-g, v) for g, v in zip(grads, variables)])

            self._optimizer, self._ascend_t = opt, ascend_t
        self._ascend_t(list(self.grads))
