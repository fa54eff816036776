"""Write the numerical-parity fixture for lib/models/samfeat.ts.

usage: /usr/bin/python3 bench/make_samfeat_fixture.py [--out test/fixtures/samfeat/width0.25.safetensors]

Builds torch_reference.py's SAMFeatNet at width 0.25 with a fixed seed, runs
it on a fixed 2x3x32x48 input and stores, in one safetensors file:
  - every parameter under its PyTorch name, in PyTorch's layout (conv OIHW);
  - "input" (NCHW) and the five outputs "heatmap", "descriptors",
    "attention", "distill", "edges" (NCHW);
  - "loss": the benchmark's surrogate loss on those outputs, and
    "grad.<name>": its gradient with respect to every parameter.
Convolution weights get the release's Kaiming-normal (fan_out) initialisation
so that activations have a realistic scale, and the query and key weights of
the row attention are scaled up further so that its softmax is far from
uniform: on a 32x48 input the scores are otherwise nearly constant and a
wrong scale or axis would hardly show.
"""
import argparse, json, os, struct
import torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH, SEED, SHAPE, QK_GAIN = 0.25, 1234, (2, 3, 32, 48), 16.0


def load_reference():
    """torch_reference.py runs its benchmark at import; execute everything but that last call."""
    src = open(os.path.join(HERE, "torch_reference.py")).read().rstrip()
    assert src.endswith("\nmain()"), "torch_reference.py no longer ends with its main() call"
    ns = {"__name__": "torch_reference"}
    exec(compile(src[: -len("main()")], "torch_reference.py", "exec"), ns)
    return ns


def surrogate_loss(heat, desc, att, dist, edge):
    # The same loss as torch_reference.py's training step.
    return heat.abs().mean() + F.normalize(desc, dim=1).mean() + att.mean() + dist.square().mean() + edge.mean()


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "test", "fixtures", "samfeat", "width0.25.safetensors"))
    a = ap.parse_args()
    ref = load_reference()
    torch.manual_seed(SEED)
    net = ref["SAMFeatNet"](WIDTH)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    with torch.no_grad():
        net.rows.q.weight.mul_(QK_GAIN)
        net.rows.k.weight.mul_(QK_GAIN)
    x = torch.rand(*SHAPE) * 2 - 1
    outs = net(x)
    loss = surrogate_loss(*outs)
    net.zero_grad()
    loss.backward()

    tensors = {name: p for name, p in net.named_parameters()}
    tensors["input"] = x
    for key, t in zip(("heatmap", "descriptors", "attention", "distill", "edges"), outs):
        tensors[key] = t
    tensors["loss"] = loss.reshape(1)
    for name, p in net.named_parameters():
        tensors["grad." + name] = p.grad
    meta = {"width": str(WIDTH), "seed": str(SEED), "torch": torch.__version__, "layout": "NCHW/OIHW",
            "params": str(sum(p.numel() for p in net.parameters()))}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_safetensors(a.out, tensors, meta)

    # How peaked the row attention is (uniform over H rows would give log(H/4)).
    with torch.no_grad():
        f1 = net.c1(x); f2 = net.c2(F.max_pool2d(f1, 2)); f3 = net.c3(F.max_pool2d(f2, 2))
        f4 = net.c4(F.max_pool2d(f3, 2)); f4 = f4 + net.fuse(net.dist(f4))
        up = lambda t: F.interpolate(t, size=f3.shape[-2:], mode="bilinear", align_corners=False)
        feat = torch.cat([up(f1), up(f2), f3, up(f4)], 1)
        g = feat * torch.sigmoid(net.edge(feat))
        s = torch.softmax(net.rows.q(g) @ net.rows.k(g).transpose(-2, -1) * 10000 ** -0.5, dim=-1)
        entropy = -(s * s.clamp_min(1e-30).log()).sum(-1).mean().item()
        peak = s.max(-1).values.mean().item()
    print(json.dumps({"out": os.path.relpath(a.out), "params": int(meta["params"]), "loss": loss.item(),
                      "row_attention_entropy": round(entropy, 3), "row_attention_max": round(peak, 3), "uniform_entropy": round(float(torch.tensor(f3.shape[-2]).log()), 3)}))


if __name__ == "__main__":
    main()
