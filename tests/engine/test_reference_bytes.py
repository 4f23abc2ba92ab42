"""Same seed, same machine, same bytes: every way the library optimizes an image (render_vis with Lucid's
defaults and with preset="fast", a hand-driven session, gallery units with negatives and with the preset, an
activation grid, a texture on a mesh) gives the hashes recorded on main before the engine was written once
(tests/data/engine_reference.json, made by tests/engine/reference_cases.py)."""
import json

import pytest

import reference_cases


@pytest.fixture(scope="module")
def reference():
    with open(reference_cases.REFERENCE) as f:
        return json.load(f)


@pytest.mark.parametrize("name", sorted(reference_cases.CASES))
def test_same_bytes_as_recorded(name, reference):
    if name == "mesh_texture":
        pytest.importorskip("moderngl", reason="3D needs the mesh extras")
    assert reference_cases.CASES[name]() == reference[name], (
        f"{name}: the engine no longer gives the recorded bytes for this seed")
