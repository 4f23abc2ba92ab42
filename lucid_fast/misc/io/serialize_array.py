"""Arrays to image bytes and to JavaScript typed arrays (Lucid's ``misc.io.serialize_array``).

``_normalize_array`` is Lucid's domain-to-uint8 mapping (round half to even); the fixed [0, 1] conversion the rest
of the package uses is :func:`lucid_fast.misc.image.to_uint8`."""
import base64
import io as _io
import logging

import numpy as np

log = logging.getLogger(__name__)

JS_ARRAY_TYPES = {"int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64"}


def _normalize_array(array, domain=(0, 1)):
    """An image-like array as uint8 in [0, 255] (a copy; the input is never changed).

    Size-1 axes are squeezed (a batch of one, a single channel). Float values are clipped to
    ``domain = (low, high)`` and mapped linearly from it to [0, 255]; ``domain=None`` uses the array's own minimum
    and maximum. Integer arrays are pixel values: only clipped to [0, 255], whatever the domain (Lucid clipped
    them to the float domain first, which turned a uint8 image shown with the default domain black).

    Raises:
        ValueError: more than 3 axes after squeezing, a non-numeric dtype, or NaN values.
    """
    array = np.squeeze(np.array(array))
    if array.ndim > 3:
        raise ValueError(f"cannot make an image of an array of shape {array.shape}: at most 3 axes (h, w, c) "
                         f"after dropping size-1 axes; show or save a batch as a list of images")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"cannot make an image of an array of dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
        raise ValueError("cannot make an image of an array that contains NaN or inf")
    if array.size == 0:
        raise ValueError(f"cannot make an image of an empty array (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.inexact):  # integers are pixel values 0..255 whatever the domain
        return np.clip(array, 0, 255).astype(np.uint8)
    low, high = array.min(), array.max()
    if domain is None:
        log.debug("no domain given, normalizing from the measured (%s, %s)", low, high)
        domain = (low, high)
    lo, hi = float(domain[0]), float(domain[1])
    array = array.astype(np.float64).clip(lo, hi) - lo
    if hi != lo:
        array *= 255.0 / (hi - lo)
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _serialize_normalized_array(array, fmt="png", quality=70):
    """Encoded image bytes of a uint8 array (``fmt``: png, jpeg, webp, ...; ``quality`` for lossy formats)."""
    from PIL import Image

    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got {array.dtype}")
    image = Image.fromarray(array)
    fmt = "jpeg" if fmt.lower() == "jpg" else fmt
    if fmt.lower() == "jpeg" and image.mode in ("RGBA", "LA"):
        image = image.convert("RGB")
    buf = _io.BytesIO()
    image.save(buf, fmt, quality=quality)
    return buf.getvalue()


def serialize_array(array, domain=(0, 1), fmt="png", quality=70):
    """The encoded image (bytes) of an (h, w), (h, w, 1|3|4) array, normalized as :func:`_normalize_array`."""
    return _serialize_normalized_array(_normalize_array(array, domain=domain), fmt=fmt, quality=quality)


def array_to_jsbuffer(array):
    """JavaScript source evaluating to a TypedArray with the contents of a 1-D array (base64-encoded).

    Raises:
        TypeError: not 1-D, or a dtype JavaScript has no typed array for (see ``JS_ARRAY_TYPES``).
    """
    array = np.asarray(array)
    if array.ndim != 1:
        raise TypeError(f"array_to_jsbuffer: only 1-D arrays convert to a JS TypedArray, got shape {array.shape}")
    if array.dtype.name not in JS_ARRAY_TYPES:
        raise TypeError(f"array_to_jsbuffer: dtype {array.dtype} has no JS TypedArray; use one of "
                        f"{sorted(JS_ARRAY_TYPES)}")
    js_type = array.dtype.name.capitalize() + "Array"
    data = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
    return (f'(function() {{ const s = atob("{data}"); const b = new Uint8Array(s.length); '
            f"for (let i = 0; i < s.length; ++i) b[i] = s.charCodeAt(i); "
            f"return {js_type} === Uint8Array ? b : new {js_type}(b.buffer); }})()")


__all__ = ["JS_ARRAY_TYPES", "array_to_jsbuffer", "serialize_array"]
