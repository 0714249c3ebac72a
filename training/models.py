"""The three spectrum networks (CNN, ViT, LT-ViT), all 1D over the energy axis.

Every model takes RAW COUNTS [batch, C] and normalises inside the graph (InGraphNorm), so the daemon only
rebins. forward() returns logits (fraction logits over E elements + 1 background class, presence logits over
E); Probabilities wraps a model into the exported form (fractions, presence). Attention is written with
plain matmul/softmax so the classic ONNX exporter produces a small, portable graph.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

LN10 = math.log(10.0)
# Centre and scale of log10(1 + total counts): datasets span 1e2..1e5 counts, so this maps them to about [-1, 1].
LEVEL_CENTRE, LEVEL_SCALE = 3.5, 1.5


class InGraphNorm(nn.Module):
    """Raw counts -> (2 x C shape features, count level).

    shape = x / max(sum(x), 1) is the exposure-free spectrum; it is multiplied by C so its mean is 1, and
    its square root is a second channel (variance-stabilising, so small peaks are not drowned by big ones).
    The count level log10(1 + sum(x)) tells the network how noisy the shape is.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor):
        x = x.clamp_min(0.0)
        total = x.sum(dim=1, keepdim=True)
        shape = x / total.clamp_min(1.0) * float(self.channels)
        feats = torch.stack([shape, torch.sqrt(shape)], dim=1)  # B x 2 x C
        level = (torch.log(1.0 + total) / LN10 - LEVEL_CENTRE) / LEVEL_SCALE  # B x 1
        return feats, level


# ----------------------------------------------------------------------------------------------- CNN
class CNN(nn.Module):
    """1D CNN after Preisler et al. 2024 (Sci. Adv. 10, eadp6234): Conv1d stages with pooling, then dense heads.

    Each stage is two conv+BN+ReLU layers and a max-pool halving the energy axis; the flattened features
    and the count level feed a dense layer shared by the fraction and presence heads.
    """

    def __init__(self, channels: int, n_elements: int, widths=(16, 32, 48, 64), kernel: int = 5,
                 hidden: int = 128, dropout: float = 0.1):
        super().__init__()
        self.norm = InGraphNorm(channels)
        layers, cin, length = [], 2, channels
        for w in widths:
            for _ in range(2):
                layers += [nn.Conv1d(cin, w, kernel, padding=kernel // 2), nn.BatchNorm1d(w), nn.ReLU()]
                cin = w
            layers.append(nn.MaxPool1d(2))
            length //= 2
        self.features = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Linear(cin * length + 1, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.frac_head = nn.Linear(hidden, n_elements + 1)
        self.pres_head = nn.Linear(hidden, n_elements)

    def forward(self, x):
        feats, level = self.norm(x)
        h = self.features(feats).flatten(1)
        h = self.dense(torch.cat([h, level], dim=1))
        return self.frac_head(h), self.pres_head(h)


# ----------------------------------------------------------------------------------------------- transformer parts
class Attention(nn.Module):
    """Multi-head self-attention by hand. With n_query_only > 0, the LAST n_query_only tokens (label tokens)
    attend to everything while the others attend only among themselves: LT-ViT's one-way flow, computed as
    two attention calls instead of a mask, which is exact and cheaper."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads, self.dh = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _attend(self, q, k, v):
        a = torch.matmul(q, k.transpose(-2, -1)) * (self.dh ** -0.5)
        a = self.drop(torch.softmax(a, dim=-1))
        return torch.matmul(a, v)

    def forward(self, x: torch.Tensor, n_query_only: int = 0, keep_last: int = 0):
        n, d = x.shape[1], x.shape[2]
        qkv = self.qkv(x).reshape(-1, n, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)  # 3 x B x h x N x dh
        q, k, v = qkv[0], qkv[1], qkv[2]
        if keep_last > 0:
            # Only the last keep_last tokens (which see every token) are read out after this block: skip the rest.
            out = self._attend(q[:, :, n - keep_last:], k, v)
            n = keep_last
        elif n_query_only > 0:
            m = n - n_query_only
            data = self._attend(q[:, :, :m], k[:, :, :m], v[:, :, :m])
            labels = self._attend(q[:, :, m:], k, v)
            out = torch.cat([data, labels], dim=2)
        else:
            out = self._attend(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(-1, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), x + MLP(LN(x)).

    keep_last > 0 computes and returns only the last keep_last tokens: the final block of each model only
    needs its read-out tokens ([CLS] or the label tokens), which saves most of that block's work at inference.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x, n_query_only: int = 0, keep_last: int = 0):
        a = self.attn(self.ln1(x), n_query_only, keep_last)
        x = (x[:, x.shape[1] - keep_last:] if keep_last > 0 else x) + a
        return x + self.mlp(self.ln2(x))


class SpectrumTokens(nn.Module):
    """Cuts the 2 x C feature map into C / patch tokens, embeds them, and prepends a count-level token."""

    def __init__(self, channels: int, patch: int, dim: int):
        super().__init__()
        if channels % patch:
            raise ValueError(f"{channels} channels are not divisible by patch {patch}")
        self.norm = InGraphNorm(channels)
        self.n_patches, self.patch = channels // patch, patch
        self.embed = nn.Linear(2 * patch, dim)
        self.level = nn.Linear(1, dim)
        self.pos = nn.Parameter(torch.zeros(1, self.n_patches + 1, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x):
        feats, level = self.norm(x)  # B x 2 x C, B x 1
        p = feats.reshape(-1, 2, self.n_patches, self.patch).permute(0, 2, 1, 3).reshape(-1, self.n_patches, 2 * self.patch)
        tokens = torch.cat([self.level(level).unsqueeze(1), self.embed(p)], dim=1)
        return tokens + self.pos


# ----------------------------------------------------------------------------------------------- ViT
class ViT(nn.Module):
    """Vanilla ViT (Dosovitskiy et al.) on 1D spectra: level token + patch tokens + [CLS], heads read [CLS].

    [CLS] sits last (order is arbitrary with learned positions) so the final block can compute it alone.
    """

    def __init__(self, channels: int, n_elements: int, patch: int = 16, dim: int = 64, depth: int = 4,
                 heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        self.tokens = SpectrumTokens(channels, patch, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, dropout) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.frac_head = nn.Linear(dim, n_elements + 1)
        self.pres_head = nn.Linear(dim, n_elements)

    def forward(self, x):
        t = self.tokens(x)
        t = torch.cat([t, self.cls.expand(t.shape[0], -1, -1)], dim=1)
        last = len(self.blocks) - 1
        for i, b in enumerate(self.blocks):
            t = b(t, keep_last=1 if i == last else 0)
        c = self.ln(t[:, -1])
        return self.frac_head(c), self.pres_head(c)


# ----------------------------------------------------------------------------------------------- LT-ViT
class LTViT(nn.Module):
    """Label-token ViT (Marikkar et al. 2023, LT-ViT) on 1D spectra.

    One learnable [LBL] token per element, plus one for 'background/other', joins the sequence for the last
    `label_depth` blocks. Label tokens attend to data tokens and to each other; data tokens never attend to
    label tokens, so the data representation is the same as a plain ViT's. A shared head reads every label
    token into (presence logit, fraction logit); the E + 1 fraction logits go through the softmax.
    label_depth defaults to 1 for speed: 25 label tokens cost more than the 17 data tokens, and the default
    model must run >= 5,000 spectra/s on one onnxruntime CPU thread (label_depth 2 measured ~4,400/s).
    """

    def __init__(self, channels: int, n_elements: int, patch: int = 16, dim: int = 64, depth: int = 4,
                 label_depth: int = 1, heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        if not 1 <= label_depth <= depth:
            raise ValueError(f"label_depth {label_depth} must be within 1..depth ({depth})")
        self.n_elements, self.label_depth = n_elements, label_depth
        self.tokens = SpectrumTokens(channels, patch, dim)
        self.labels = nn.Parameter(torch.zeros(1, n_elements + 1, dim))
        nn.init.trunc_normal_(self.labels, std=0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, dropout) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 2)  # shared by all label tokens: [presence logit, fraction logit]

    def forward(self, x):
        t = self.tokens(x)
        first_label_block = len(self.blocks) - self.label_depth
        n_lbl = self.n_elements + 1
        last = len(self.blocks) - 1
        for i, b in enumerate(self.blocks):
            if i == first_label_block:
                t = torch.cat([t, self.labels.expand(t.shape[0], -1, -1)], dim=1)
            if i == last:
                t = b(t, keep_last=n_lbl)  # label tokens see everything; data tokens are not read after this
            else:
                t = b(t, n_lbl if i >= first_label_block else 0)
        out = self.head(self.ln(t[:, -n_lbl:]))  # B x (E+1) x 2
        return out[:, :, 1], out[:, : self.n_elements, 0]


# ----------------------------------------------------------------------------------------------- factory / export form
ARCHS = ("cnn", "vit", "lt-vit")


def build_model(arch: str, channels: int, n_elements: int, **hp) -> nn.Module:
    """Builds an architecture by name; hp are its constructor's keyword arguments (unknown ones are an error)."""
    cls = {"cnn": CNN, "vit": ViT, "lt-vit": LTViT}.get(arch)
    if cls is None:
        raise ValueError(f"unknown architecture '{arch}' (expected one of {', '.join(ARCHS)})")
    if arch == "cnn" and "widths" in hp:
        hp = {**hp, "widths": tuple(hp["widths"])}
    return cls(channels, n_elements, **hp)


class Probabilities(nn.Module):
    """The exported form: fractions = softmax over E + 1 with the background class dropped (non-negative,
    sum <= 1); presence = sigmoid of the presence logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, spectrum):
        frac_logits, pres_logits = self.model(spectrum)
        fractions = torch.softmax(frac_logits, dim=1)[:, :-1]
        return fractions, torch.sigmoid(pres_logits)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
