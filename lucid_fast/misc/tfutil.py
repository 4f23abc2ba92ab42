"""Lucid's ``misc.tfutil``: TF1 session helpers, which have no TF2 counterpart."""

_NO_SESSIONS = (
    "create_session: lucid_fast runs on TensorFlow 2 (eager execution and tf.function), where there are no "
    "sessions to create. Lucid's session code maps as follows (docs/MIGRATING.md):\n"
    '  T = render.make_vis_T(model, obj, param_f, ...); tf.global_variables_initializer().run()\n'
    "    -> vis = render.make_vis_T(model, obj, param_f, ..., seed=0)   (initialized already)\n"
    '  sess.run(T("vis_op"))                    -> vis.step()   (returns the objective)\n'
    '  T("input").eval() / sess.run(T("input")) -> vis("input")\n'
    '  sess.run(T("mixed4a"))                   -> vis("mixed4a")\n'
    "  a hand-built graph (model.import_graph, tf.train.AdamOptimizer(...).minimize) -> render.make_vis_T with "
    "an objective and transforms, or render.import_model(model, image) for activations of a given image")


def create_session(target="", timeout_sec=10):
    """Lucid created an interactive TF1 session here; on TF2 this raises, with the lucid_fast equivalents."""
    raise RuntimeError(_NO_SESSIONS)


__all__ = ["create_session"]
