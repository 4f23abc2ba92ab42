"""The memory a render step needs: the estimate behind render_vis's memory check (``optvis.preflight``).

An adapter reports the bytes of every floating tensor its forward pass computes
(:meth:`~lucid_fast.models.protocol.ModelAdapter.activation_bytes`; for TensorFlow, :func:`_downstream_bytes`
counts them in a traced graph); :func:`estimate_step_bytes` turns them into the peak a step adds, with the factor
and overhead measured for TensorFlow below. The module itself needs no TensorFlow import: it only reads the
graph it is given.
"""
from __future__ import annotations

__all__ = ["STEP_MEMORY_FACTOR", "STEP_MEMORY_OVERHEAD", "estimate_step_bytes"]

# Peak memory of a render step on the CPU, as a multiple of the bytes of every floating tensor its forward pass
# computes (ModelAdapter.activation_bytes), plus a constant. Measured with bench/step_memory.py (vgg16_hed, each
# configuration in a fresh process, no transforms; the growth of the process's anonymous memory (RssAnon,
# sampled every millisecond) over two steps with the ReLU override on, as in a render's first 16 steps), 2
# cores, TF 2.21, a shared machine:
#
#     size  layer          batch  forward MiB  growth MiB  growth/forward  estimate/growth
#      128  block4_conv3       1           52          52            0.99             3.68
#      256  block4_conv3       1          209         158            0.76             2.39
#      512  block4_conv3       1          837         595            0.71             1.90
#     1024  block4_conv3       1         3348        2270            0.68             1.83
#     2048  block4_conv3       1        13392        8989            0.67             1.80
#      256  block1_conv2       1          114          91            0.80             2.95
#      512  block1_conv2       1          457         459            1.00             1.52
#      512  block5_conv3       1          851         604            0.71             1.90
#      256  block4_conv3       4          837         590            0.70             1.92
#      128  block2_pool        8          308         235            0.76             2.15
#
# Shallow layers need the most per forward byte (one layer's backward temporaries dominate); deep in the network
# many forward tensors are freed before the backward pass peaks. The factor takes the largest ratio (1.00) with a
# margin, so the estimate was never low in these runs and is up to about 1.9x high for deep layers at large sizes
# (LUCID_FAST_MEMORY_LIMIT raises the memory the check assumes when that caution costs a render).
STEP_MEMORY_FACTOR = 1.15
STEP_MEMORY_OVERHEAD = 128 << 20  # bytes: TF's per-step bookkeeping, the objective, small tensors


def _downstream_bytes(graph, source_op):
    """Bytes of the floating outputs of every op in ``graph`` that depends on ``source_op`` (in creation order,
    which is topological). Outputs of unknown shape count as nothing."""
    reached = {source_op.name}
    total = 0
    for op in graph.get_operations():
        if op.name in reached or not any(t.op.name in reached for t in op.inputs):
            continue
        reached.add(op.name)
        for t in op.outputs:
            if t.dtype.is_floating and t.shape.is_fully_defined():
                total += t.shape.num_elements() * t.dtype.size
    return total


def estimate_step_bytes(forward_bytes, native_bytes=0):
    """The memory a render step adds at its peak: STEP_MEMORY_FACTOR x the forward pass's tensors (see
    :meth:`ModelAdapter.activation_bytes`), the image side's arrays and STEP_MEMORY_OVERHEAD."""
    return int(STEP_MEMORY_FACTOR * forward_bytes) + int(native_bytes) + STEP_MEMORY_OVERHEAD
