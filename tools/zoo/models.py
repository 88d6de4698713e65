"""The mini zoo's architectures. Every expert maps float[B,1,28,28] in [0,1] to an embedding float[B,D];
normalisation is inside the model so the ONNX files need no preprocessing beyond scaling to [0,1]."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Norm(nn.Module):
    def forward(self, x):
        return (x - 0.5) / 0.3


class Cnn(nn.Module):
    """Two conv blocks + FC: the baseline B's architecture (width 16) and the wide variant (width 32)."""

    def __init__(self, width=16, dim=64):
        super().__init__()
        w = width
        self.block1 = nn.Sequential(Norm(), nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(2 * w * 49, dim), nn.ReLU())
        self.dim = dim

    def forward(self, x):
        return self.fc(self.block2(self.block1(x)))


class Adapters(nn.Module):
    """[001] fig. 3: a frozen backbone with residual bottleneck adapters after each conv block, one set per
    expert, packed in one model; the scalar int64 input `adapter` picks the set (a Gather in ONNX)."""

    def __init__(self, backbone: Cnn, count, rank=8):
        super().__init__()
        self.backbone = backbone
        c1 = backbone.block1[1].out_channels
        c2 = backbone.block2[0].out_channels
        self.down1 = nn.Parameter(torch.randn(count, c1, rank) * 0.05)
        self.up1 = nn.Parameter(torch.zeros(count, rank, c1))
        self.down2 = nn.Parameter(torch.randn(count, c2, rank) * 0.05)
        self.up2 = nn.Parameter(torch.zeros(count, rank, c2))
        self.dim = backbone.dim

    @staticmethod
    def _adapt(h, down, up):
        z = torch.relu(torch.einsum("bchw,cr->brhw", h, down))
        return h + torch.einsum("brhw,rc->bchw", z, up)

    def forward(self, x, adapter):
        b = self.backbone
        h = self._adapt(b.block1(x), self.down1[adapter], self.up1[adapter])
        h = self._adapt(b.block2(h), self.down2[adapter], self.up2[adapter])
        return b.fc(h)

    def adapter_parameters(self):
        return sum(p[0].numel() for p in (self.down1, self.up1, self.down2, self.up2))


class OneAdapter(nn.Module):
    """One adapter expert of an Adapters model, as a plain expert (for export checks and fine-tuning)."""

    def __init__(self, packed: Adapters, index):
        super().__init__()
        self.packed = packed
        self.index = index
        self.dim = packed.dim

    def forward(self, x):
        return self.packed(x, torch.tensor(self.index))


class Mlp(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.net = nn.Sequential(Norm(), nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, dim), nn.ReLU())
        self.dim = dim

    def forward(self, x):
        return self.net(x)


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.b = nn.Conv2d(c, c, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.b(torch.relu(self.bn1(self.a(x))))))


class ResNetTiny(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.net = nn.Sequential(
            Norm(), nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), Res(16),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(), Res(32),
            nn.Conv2d(32, dim, 3, stride=2, padding=1), nn.BatchNorm2d(dim), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dim = dim

    def forward(self, x):
        return self.net(x)


class VitTiny(nn.Module):
    """A small vision transformer: 7x7 patches (16 tokens) + class token, 2 pre-norm layers, 4 heads.
    Attention is written out with matmuls so the ONNX export is plain."""

    def __init__(self, dim=64, depth=2, heads=4):
        super().__init__()
        self.norm = Norm()
        self.patch = nn.Conv2d(1, dim, 7, stride=7)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(dim), qkv=nn.Linear(dim, 3 * dim), proj=nn.Linear(dim, dim),
                ln2=nn.LayerNorm(dim), mlp=nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)))))
        self.ln = nn.LayerNorm(dim)
        self.heads = heads
        self.dim = dim

    def forward(self, x):
        t = self.patch(self.norm(x)).flatten(2).transpose(1, 2)           # [B,16,D]
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        b, n, d = t.shape
        h = self.heads
        for L in self.layers:
            q, k, v = L["qkv"](L["ln1"](t)).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
            att = torch.softmax(q @ k.transpose(-1, -2) * (d // h) ** -0.5, dim=-1)
            t = t + L["proj"]((att @ v).transpose(1, 2).reshape(b, n, d))
            t = t + L["mlp"](L["ln2"](t))
        return self.ln(t[:, 0])


class Decoder(nn.Module):
    """The autoencoder's decoder (not exported): embedding -> 28x28 image."""

    def __init__(self, dim=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 32 * 49), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
                                 nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1))

    def forward(self, z):
        return torch.sigmoid(self.net(z))


class WithHead(nn.Module):
    def __init__(self, body, classes):
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.dim, classes)

    def forward(self, x):
        return self.head(self.body(x))


def parameters(m):
    return sum(p.numel() for p in m.parameters())
