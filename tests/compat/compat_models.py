"""Tiny models and a local HTTP server for the Lucid-compatibility tests (a module of its own: the test files
import it by a name no other test folder uses).

    input (None, None, 3) -> mixed3a (3x3 conv, ReLU; 8 ch) -> pool (2x2 max) -> mixed4a (3x3 conv, ReLU; 12 ch)

As a Keras model (``tiny_keras``) and as the same weights frozen into a GraphDef with an input placeholder named
``input`` in Lucid's value range (-117, 138) (``tiny_graphdef``), so Lucid-style ``vision_base.Model`` subclasses
can be tested without a download; and ``tiny_inception_keras``, a small network with InceptionV1's layer names for
the notebook ports.
"""
import numpy as np
import tensorflow as tf

VALUE_RANGE = (-117.0, 138.0)  # Lucid's InceptionV1 input range


def _weights(seed=3):
    rng = np.random.default_rng(seed)
    return {
        "mixed3a": (rng.normal(0, 0.4, (3, 3, 3, 8)).astype(np.float32), rng.normal(0, 0.1, 8).astype(np.float32)),
        "mixed4a": (rng.normal(0, 0.3, (3, 3, 8, 12)).astype(np.float32), rng.normal(0, 0.1, 12).astype(np.float32)),
    }


def tiny_keras(seed=3):
    w = _weights(seed)
    x = tf.keras.Input((None, None, 3), name="input")
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="mixed3a")(x)
    y = tf.keras.layers.MaxPooling2D(2, name="pool")(y)
    y = tf.keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="mixed4a")(y)
    model = tf.keras.Model(x, y, name="tiny_lucid")
    for name, (k, b) in w.items():
        model.get_layer(name).set_weights([k, b])
    return model


def tiny_graphdef(seed=3):
    """The same network as a frozen GraphDef whose input ``input`` takes images in VALUE_RANGE."""
    w = _weights(seed)
    lo, hi = VALUE_RANGE
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        u = (x - lo) / (hi - lo)  # back to [0, 1]: the graph computes what the Keras model computes
        pre = tf.nn.bias_add(tf.nn.conv2d(u, w["mixed3a"][0], 1, "SAME"), w["mixed3a"][1], name="mixed3a_conv")
        y = tf.nn.relu(pre, name="mixed3a")
        y = tf.nn.max_pool2d(y, 2, 2, "VALID", name="pool")
        pre = tf.nn.bias_add(tf.nn.conv2d(y, w["mixed4a"][0], 1, "SAME"), w["mixed4a"][1], name="mixed4a_conv")
        tf.nn.relu(pre, name="mixed4a")
    return graph.as_graph_def()


class Server:
    """A real HTTP server on 127.0.0.1 serving a folder, in a thread; records the paths requested."""

    def __init__(self, root):
        import functools
        import http.server
        import threading

        self.root, self.requests = root, []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                log.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


# ---- a tiny network with InceptionV1's layer names, for the notebook ports ----------------------------------------

INCEPTION_LAYERS = [("conv2d0", 8), ("conv2d1", 8), ("conv2d2", 8), None, ("mixed3a", 8), ("mixed3b", 8), None,
                    ("mixed4a", 12), ("mixed4b", 12), ("mixed4c", 12), ("mixed4d", 16), ("mixed4e", 16), None,
                    ("mixed5a", 16), ("mixed5b", 16)]  # None: a 2x2 max-pool


def tiny_inception_keras(seed=11):
    rng = np.random.default_rng(seed)
    x = inputs = tf.keras.Input((None, None, 3), name="input")
    c_in, n_pool = 3, 0
    for entry in INCEPTION_LAYERS:
        if entry is None:
            n_pool += 1
            x = tf.keras.layers.MaxPooling2D(2, name=f"maxpool{n_pool}")(x)
            continue
        name, c = entry
        layer = tf.keras.layers.Conv2D(c, 3, padding="same", activation="relu", name=name)
        x = layer(x)
        layer.set_weights([rng.normal(0, np.sqrt(2.0 / (9 * c_in)), (3, 3, c_in, c)).astype(np.float32),
                           rng.normal(0, 0.05, c).astype(np.float32)])
        c_in = c
    return tf.keras.Model(inputs, x, name="tiny_inception")


_TINY_INCEPTION = {}


def _tiny_inception_adapter():
    if "adapter" not in _TINY_INCEPTION:
        from lucid_fast import models

        _TINY_INCEPTION["adapter"] = models.KerasAdapter(tiny_inception_keras(), image_shape=(32, 32, 3),
                                                         name="TinyInception")
    return _TINY_INCEPTION["adapter"]


def tiny_inception_class():
    """A Lucid-style model class (what ``models.InceptionV1`` is to Lucid's notebooks) for the tiny network."""
    from lucid_fast.modelzoo import vision_base

    class TinyInception(vision_base.Model):
        image_shape = [32, 32, 3]
        image_value_range = (0, 1)

        def to_adapter(self):
            return _tiny_inception_adapter()

    return TinyInception
