#!/usr/bin/env python3
"""Builds torchvision CNNs with seeded random weights, gives every BatchNorm non-trivial running statistics and
exports them to ONNX (opset 13, input `input` N×3×S×S with a dynamic batch axis, output `logits`, BN nodes kept),
so that zeroq and the PyTorch peer (zeroq_distill_torch.py, which imports build_model from here) distill the same model.

Usage: python3 benchmarks/peers/export_torchvision.py --models resnet18,resnet50 --out DIR [--device cuda|cpu] [--size 224]
Works with torch 1.13 (TorchScript exporter) and torch >= 2.5 (dynamo=False keeps the TorchScript exporter).
"""
import argparse
import datetime
import hashlib
import inspect
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

SEED = 20251126
# BN statistics: PASSES forward passes of BN_BATCH smooth random images each, in training mode with momentum None
# (a cumulative average over all passes), so the running statistics are the average of many batches, not the
# last batch weighted by 0.1 on top of the (0, 1) initial values.
PASSES = 8
BN_BATCH = 16
# Noise resolutions cycled over the passes: coarse grids give large smooth blobs, finer ones more texture, so
# the deeper layers see varied spatial frequencies like real photographs do.
NOISE_GRIDS = (4, 7, 14, 28)


def smooth_images(gen, batch, size, grid):
    """Low-resolution Gaussian noise upsampled bilinearly to size×size, then per image and channel standardized and
    given a random contrast and brightness, so values look like ImageNet-normalized photos (mean ~0, std ~1)."""
    low = torch.randn(batch, 3, grid, grid, generator=gen)
    x = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    flat = x.flatten(2)
    x = (x - flat.mean(2)[..., None, None]) / (flat.std(2)[..., None, None] + 1e-6)
    gain = 0.5 + torch.rand(batch, 3, 1, 1, generator=gen)          # contrast in [0.5, 1.5)
    offset = 0.5 * torch.randn(batch, 3, 1, 1, generator=gen)       # brightness shift
    return x * gain + offset


def build_model(arch, seed=SEED, size=224, device="cpu", passes=PASSES, bn_batch=BN_BATCH):
    """The torchvision architecture with random weights (seeded, created on the CPU so the weights do not depend on
    the device) and BN running statistics from `passes` training-mode passes on `device`; returned in eval mode."""
    torch.manual_seed(seed)
    ctor = getattr(torchvision.models, arch)
    # torchvision >= 0.13 takes weights=None; older ones pretrained=False. Both mean random initialization.
    model = ctor(weights=None) if "weights" in inspect.signature(ctor).parameters else ctor(pretrained=False)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        raise SystemExit(f"{arch}: no BatchNorm layers; ZeroQ needs their statistics")
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None          # cumulative moving average over all passes
    model.to(device).train()
    gen = torch.Generator().manual_seed(seed + 1)   # images drawn on the CPU: the same on every device
    with torch.no_grad():
        for p in range(passes):
            x = smooth_images(gen, bn_batch, size, NOISE_GRIDS[p % len(NOISE_GRIDS)])
            model(x.to(device))
    for bn in bns:
        bn.momentum = 0.1           # back to the default, so the module is an ordinary torchvision one
    return model.eval()


def count_bn(onnx_model):
    return sum(1 for n in onnx_model.graph.node if n.op_type == "BatchNormalization")


def export_onnx(model, path, size):
    """Exports with the TorchScript exporter in PRESERVE mode: EVAL mode would run the eval peephole pass, which
    folds every BatchNorm into its conv, and ZeroQ needs the BN nodes. The model is already in eval mode, so BN is
    exported as inference (running statistics). Constant folding is off: a ResNet has nothing to fold, and torch
    warns that folding may alter parameters in PRESERVE mode. Returns the exporter's name."""
    model = model.to("cpu").eval()
    dummy = torch.zeros(1, 3, size, size)
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=13,
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    params = inspect.signature(torch.onnx.export).parameters
    if "dynamo" not in params:
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), path, **kwargs)
        return "torchscript"
    # torch >= 2.5 has the dynamo exporter, the default from 2.9; the TorchScript one (dynamo=False, deprecated) is
    # what gives the plain opset-13 graph with state_dict-named initializers that the peer checks against.
    try:
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), path, dynamo=False, **kwargs)
        return "torchscript (dynamo=False)"
    except Exception as e:  # a torch without the TorchScript exporter: try the dynamo one, check_onnx verifies it
        print(f"export: TorchScript exporter failed ({type(e).__name__}: {e}); trying dynamo=True")
    dyn = dict(input_names=["input"], output_names=["logits"], dynamo=True, external_data=False,
               dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},))
    for opset in (13, None):    # the dynamo exporter builds opset 18 and converts down; keep 18 if that fails
        try:
            with torch.no_grad():
                torch.onnx.export(model, (dummy,), path, opset_version=opset, **dyn)
            return f"dynamo (opset {opset or 'default'})"
        except Exception as e:
            print(f"export: dynamo exporter, opset {opset}: {type(e).__name__}: {e}")
    raise RuntimeError("no ONNX exporter in this torch could export the model")


def check_onnx(path, size):
    """Loads the file back and verifies what zeroq relies on; raises with a clear message otherwise."""
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    bn = count_bn(m)
    if bn == 0:
        raise RuntimeError(f"{path}: no BatchNormalization nodes (folded into the convs?): ZeroQ cannot distill from it")
    inputs = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    if [i.name for i in inputs] != ["input"] or [o.name for o in m.graph.output] != ["logits"]:
        raise RuntimeError(f"{path}: inputs {[i.name for i in inputs]}, outputs {[o.name for o in m.graph.output]}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_param or d.dim_value for d in dims]
    if not dims[0].dim_param or shape[1:] != [3, size, size]:
        raise RuntimeError(f"{path}: input shape {shape}, expected [batch, 3, {size}, {size}]")
    if any(n.op_type == "BatchNormalization" and any(a.name == "training_mode" and a.i for a in n.attribute)
           for n in m.graph.node):
        raise RuntimeError(f"{path}: BatchNormalization in training mode (the model was not in eval mode)")
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    return {"batchnorm_nodes": bn, "nodes": len(m.graph.node), "input_shape": shape, "opset": opset}


def check_runtime(path, model, size):
    """Where onnxruntime is installed: the file's output at batch 2 against PyTorch's (checks the dynamic batch axis
    and that the export is the model). Returns the max abs difference, or a reason it was skipped."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "skipped: no onnxruntime"
    x = smooth_images(torch.Generator().manual_seed(7), 2, size, 7)
    with torch.no_grad():
        ref = model.to("cpu").eval()(x).numpy()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {"input": x.numpy()})[0]
    return float(abs(out - ref).max())


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=SEED)
    a = ap.parse_args()
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("export: CUDA not available, using the CPU for the BN-statistics passes")
        a.device = "cpu"
    os.makedirs(a.out, exist_ok=True)
    failed = 0
    for arch in [s.strip() for s in a.models.split(",") if s.strip()]:
        t0 = time.time()
        path = os.path.join(a.out, arch + ".onnx")
        try:
            model = build_model(arch, seed=a.seed, size=a.size, device=a.device)
            built = time.time() - t0
            exporter = export_onnx(model, path, a.size)
            info = check_onnx(path, a.size)
            ort_diff = check_runtime(path, model, a.size)
        except Exception as e:  # one model failing must not stop the others
            print(f"EXPORT FAIL arch={arch}: {type(e).__name__}: {e}")
            failed += 1
            continue
        prov = {
            "arch": arch, "file": os.path.basename(path), "sha256": sha256(path), "bytes": os.path.getsize(path),
            "weights": "random (torchvision init, weights=None)", "seed": a.seed, "input_size": a.size,
            "bn_statistics": {"passes": PASSES, "batch": BN_BATCH, "noise_grids": list(NOISE_GRIDS), "momentum": None,
                              "images": "bilinear-upsampled Gaussian noise, standardized, contrast U[0.5,1.5), "
                                        "brightness N(0,0.5)", "device": a.device},
            "exporter": exporter, **info, "onnxruntime_max_abs_diff": ort_diff,
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "onnx": __import__("onnx").__version__, "python": sys.version.split()[0],
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with open(os.path.join(a.out, arch + ".provenance.json"), "w") as f:
            json.dump(prov, f, indent=2)
        print(f"EXPORT ok arch={arch} file={path} bn_nodes={info['batchnorm_nodes']} nodes={info['nodes']} "
              f"opset={info['opset']} ort_max_abs_diff={ort_diff} build_s={built:.1f} total_s={time.time() - t0:.1f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
