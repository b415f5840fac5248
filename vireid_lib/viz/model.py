"""Pictures of the model: feature-map shapes, the fusion module's weight maps, the equations' functions."""

from __future__ import annotations

import inspect
import re

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..models.fusion import FusionModule

#: a Sphinx cross-reference role in a docstring: ``:func:`~vireid_lib.evaluation.ranking``` or ``:meth:`layer0```
_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`<]*?)\s*(?:<([^>`]*)>)?`")
_UNDERLINE = re.compile(r"^([-=~^]){3,}$")


def plain_docstring(doc: str) -> str:
    """A docstring as plain Markdown: Sphinx roles become code (``:meth:`layer0``` → `` `layer0` ``; a ``~`` keeps
    the last name, ``:func:`text <target>``` the text), reST literals (````x````) single backticks, and reST section
    titles (a line underlined with ``---``) bold lines."""
    def role(m: re.Match) -> str:
        text = m.group(2).strip() or (m.group(3) or "")
        return f"`{text.rsplit('.', 1)[-1] if m.group(1) else text}`"

    text = _ROLE.sub(role, doc).replace("``", "`")
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if _UNDERLINE.match(line.strip()) and out and out[-1].strip() and len(line.strip()) >= len(out[-1].strip()) - 2:
            out[-1] = f"**{out[-1].strip()}**"
            if i + 1 < len(lines) and lines[i + 1].strip():
                out.append("")  # the title a paragraph of its own
            continue
        out.append(line)
    return "\n".join(out)


class _Annotation(str):
    """An annotation written as a string (PEP 563): shown without the quotes ``repr`` would add."""

    def __repr__(self) -> str:
        return str(self)


def _unquoted(sig: inspect.Signature) -> inspect.Signature:
    def ann(a):
        return _Annotation(a) if isinstance(a, str) else a

    return sig.replace(parameters=[p.replace(annotation=ann(p.annotation)) for p in sig.parameters.values()],
                       return_annotation=ann(sig.return_annotation))


def describe(fn) -> str:
    """Markdown: the function that implements an equation, with its docstring (which cites the equation), as plain
    text (:func:`plain_docstring`: no Sphinx markup) and its signature without quoted annotations."""
    doc = plain_docstring(inspect.getdoc(fn) or "")
    if inspect.ismodule(fn):
        name, sig = fn.__name__, ""
    else:
        name = f"{fn.__module__}.{fn.__qualname__}"
        try:
            sig = str(_unquoted(inspect.signature(fn)))
        except (TypeError, ValueError):
            sig = "(...)"
    return f"**`{name}{sig}`**\n\n" + "\n".join(f"> {line}" if line else ">" for line in doc.splitlines())


def weight_maps(fusion: FusionModule, title: str = "fusion weight maps (Eq. 2)"):
    """The learned spatial weight maps α, β, γ (...) of the fusion module as Eq. 2 applies them (after the softmax
    across layers of the default reading), one panel per fused layer, on a shared colour scale. Not for the
    "adaptive" reading, whose maps depend on the input."""
    if fusion.mode == "adaptive":
        raise ValueError("the adaptive reading's weight maps are computed from each input: there is no map to show")
    with torch.no_grad():
        maps = {i: w.detach().cpu().numpy()[0, 0] for i, w in fusion.weight_maps().items()}
    lo = min(float(m.min()) for m in maps.values())
    hi = max(float(m.max()) for m in maps.values())
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    fig, axes = plt.subplots(1, len(maps), figsize=(1.5 * len(maps) + 0.8, 3.0), squeeze=False)
    names = dict(zip(fusion.layers, "αβγδ", strict=False))
    for ax, (i, m) in zip(axes[0], maps.items(), strict=True):
        im = ax.imshow(m, vmin=lo, vmax=hi, cmap="viridis")
        ax.set_title(f"{names[i]} · layer{i}\n{m.shape[0]}×{m.shape[1]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(top=0.72)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle(title, fontsize=8, y=0.99)
    return fig


def feature_shapes(shapes: dict[str, tuple[int, ...]]):
    """A bar-and-box sketch of feature-map sizes: width ∝ channels (log), box ∝ spatial size."""
    fig, ax = plt.subplots(figsize=(7, 2.4))
    x = 0.0
    for name, shp in shapes.items():
        c, h, w = shp[-3:]
        width = 0.3 + 0.25 * np.log2(max(c, 1)) / 3
        height = h / max(s[-2] for s in shapes.values())
        ax.add_patch(plt.Rectangle((x, 0), width, height, color="tab:blue", alpha=0.5))
        ax.text(x + width / 2, height + 0.03, f"{name}\n{c} ch · {h}×{w}", ha="center", va="bottom", fontsize=7)
        x += width + 0.35
    ax.set_xlim(-0.2, x)
    ax.set_ylim(0, 1.5)
    ax.axis("off")
    return fig
