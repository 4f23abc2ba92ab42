"""How many channels one optimization renders on a GPU (a gallery unit's K, batched rendering).

A step on K images of ``size`` x ``size`` pixels needs about ``K * size**2 * bytes_per_image_pixel`` of GPU memory
at its peak (the model's activations and their gradients dominate; the image side is a few arrays per image).
:func:`channels_per_optimization` turns the free GPU memory into the largest K that fits, keeping a reserve.

``bytes_per_image_pixel`` depends on the model and on how deep the objective's layer is; bench/gpu_check.sh
measures it for each model it renders (``lucid_fast.bench.gpu_render`` prints ``bytes_per_image_pixel`` from
``torch.cuda.max_memory_allocated`` at 224 px x4) and that number should be passed in. Until a measurement is
recorded here, the default is :data:`UNMEASURED_BYTES_PER_IMAGE_PIXEL`.
"""
import math

# NOT YET MEASURED -- a placeholder to be replaced by bench/gpu_check.sh's `bytes_per_image_pixel`. It is an
# estimate by arithmetic for VGG16 up to block4_conv3 in float32 (forward activations ~0.6 KB per input pixel,
# kept for the backward pass, plus the gradients and the framework's workspace: ~4x), not a number seen on a GPU.
UNMEASURED_BYTES_PER_IMAGE_PIXEL = 4096
RESERVE_FRACTION = 0.2  # of the free memory kept back for the framework's allocator, cuFFT plans and workspaces
MAX_CHANNELS = 256  # the gallery's largest batch (gallery.settings.MAX_BATCH)


def channels_per_optimization(free_bytes, size, bytes_per_image_pixel=None, negatives=False,
                              reserve_fraction=RESERVE_FRACTION, max_channels=MAX_CHANNELS):
    """The number of channels K one optimization should render at once on a GPU.

    Args:
        free_bytes: GPU memory free for the render, in bytes (e.g. ``cupy.cuda.runtime.memGetInfo()[0]`` plus
            what the framework's caching allocator holds unused).
        size: image side in pixels.
        bytes_per_image_pixel: peak step memory per image pixel for this model and layer, as measured by
            bench/gpu_check.sh; None uses :data:`UNMEASURED_BYTES_PER_IMAGE_PIXEL` (not measured yet).
        negatives: each channel also renders its negative (two images per channel).
        reserve_fraction: part of ``free_bytes`` not planned for, in [0, 1).
        max_channels: the largest K returned.

    Returns:
        K, an int in [1, max_channels].

    Raises:
        ValueError: arguments out of range, or not even one channel fits (naming the memory needed and free).
    """
    per_px = UNMEASURED_BYTES_PER_IMAGE_PIXEL if bytes_per_image_pixel is None else bytes_per_image_pixel
    for name, v in (("free_bytes", free_bytes), ("size", size), ("bytes_per_image_pixel", per_px),
                    ("max_channels", max_channels)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"channels_per_optimization: {name} must be a positive number, got {v!r}")
    if not 0.0 <= reserve_fraction < 1.0:
        raise ValueError(f"channels_per_optimization: reserve_fraction must be in [0, 1), got {reserve_fraction!r}")
    per_channel = per_px * float(size) ** 2 * (2 if negatives else 1)
    usable = free_bytes * (1.0 - reserve_fraction)
    k = int(usable // per_channel)
    if k < 1:
        raise ValueError(f"channels_per_optimization: one channel at {size} px needs about {per_channel / 2**20:.0f} "
                         f"MiB ({per_px:g} bytes per image pixel{', with its negative' if negatives else ''}); "
                         f"{usable / 2**20:.0f} MiB of {free_bytes / 2**20:.0f} MiB free are usable")
    return min(k, int(max_channels))
