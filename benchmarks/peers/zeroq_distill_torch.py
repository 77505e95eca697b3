#!/usr/bin/env python3
"""The PyTorch peer of zeroq's distillation: ZeroQ data distillation (shared/ZEROQ.md §1, our own implementation of
the published algorithm) on the torchvision model that export_torchvision.py builds and exports, timed with CUDA
events, so that zeroq's DistillBench and this script give side-by-side iterations/s on the same model and batch.

Usage: python3 benchmarks/peers/zeroq_distill_torch.py (MODEL.onnx | --arch resnet50) [--batch 32] [--iters 100]
       [--warmup 20] [--full 500] [--tf32 on|off] [--channels-last] [--device cuda|cpu]
Prints `RESULT peer=torch arch=... batch=... tf32=... it_per_s=... ms_per_it=...` (it/s = 1000 / median ms, as
DistillBench computes it) and with --full N a `FULL peer=torch ...` line with the wall time of N iterations.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torchvision as ex  # noqa: E402  (same build_model, seed and BN-statistics procedure as the ONNX file)

EPS = 1e-6          # under the square roots, for the BN targets and the batch statistics alike
LR = 0.5


def provenance_for(onnx_path):
    p = os.path.splitext(onnx_path)[0] + ".provenance.json"
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return None


def match_onnx(model, onnx_path):
    """Compares the rebuilt model's parameters and BN statistics with the ONNX file's initializers (the TorchScript
    exporter keeps state_dict names; identical tensors are deduplicated behind Identity nodes), then loads
    the file's values so the peer certainly distills the same model. Returns a note with the largest difference."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return "onnx-check skipped (no onnx module)"
    m = onnx.load(onnx_path)
    arrays = {t.name: t for t in m.graph.initializer}
    alias = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity" and n.input[0] in arrays}
    state = model.state_dict()
    worst, found, missing = 0.0, 0, []
    loaded = {}
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        src = name if name in arrays else alias.get(name)
        if src is None:
            missing.append(name)
            continue
        value = torch.from_numpy(numpy_helper.to_array(arrays[src]).copy())
        if tuple(value.shape) != tuple(tensor.shape):
            missing.append(name)
            continue
        found += 1
        loaded[name] = value
        scale = max(1.0, float(value.abs().max()))
        worst = max(worst, float((value - tensor.detach().cpu().float()).abs().max()) / scale)
    note = f"onnx-check params={found} missing={len(missing)} max_rel_diff={worst:.3g}"
    if missing:
        note += " (names not found: " + ",".join(missing[:3]) + "...; model kept as rebuilt)"
    else:
        # Rebuilding on a GPU may round the BN statistics differently (other cuDNN algorithms): take the file's.
        model.load_state_dict({k: loaded[k].to(v.device, v.dtype) if k in loaded else v for k, v in state.items()})
        note += ", the file's values loaded"
    return note


def channel_stats(t):
    """Per image and channel over H·W: mean and sqrt(unbiased variance + eps), as the official code's torch.var."""
    var, mean = torch.var_mean(t.flatten(2), dim=2)
    return mean, torch.sqrt(var + EPS)


class Distillation:
    """Hooks on every BatchNorm input; loss(x) runs the model and sums, like the official code,
    Σ_BN ||μ − m||²/N + ||σ − s||²/N plus the input term ||m0||²/N + ||1 − s0||²/N."""

    def __init__(self, model):
        self.model = model
        self.seen = []
        self.targets = []
        for bn in model.modules():
            if isinstance(bn, nn.modules.batchnorm._BatchNorm):
                self.targets.append((bn.running_mean.detach().clone(), torch.sqrt(bn.running_var.detach() + EPS)))
                bn.register_forward_pre_hook(lambda mod, inputs: self.seen.append(inputs[0]))

    def loss(self, x):
        self.seen.clear()
        self.model(x)
        n = x.shape[0]
        assert len(self.seen) == len(self.targets), "every BatchNorm must run once per forward"
        total = x.new_zeros(())
        for (mu, sigma), t in zip(self.targets, self.seen):
            m, s = channel_stats(t)
            total = total + ((mu - m) ** 2).sum() / n + ((sigma - s) ** 2).sum() / n
        m0, s0 = channel_stats(x)
        total = total + (m0 ** 2).sum() / n + ((1 - s0) ** 2).sum() / n
        self.seen.clear()   # drop the references to the activations (autograd keeps what it needs)
        return total


def java_random_ints(seed, count, bound):
    """java.util.Random(seed).nextInt(bound), `count` times: the 48-bit LCG and the rejection step of the JDK, so
    --init zeroq starts from exactly zeroq's images and the two loss curves can be compared number for number."""
    mask = (1 << 48) - 1
    state = (seed ^ 0x5DEECE66D) & mask
    out = [0] * count
    for i in range(count):
        while True:
            state = (state * 0x5DEECE66D + 0xB) & mask
            u = state >> 17                         # next(31)
            r = u % bound
            if u - r + bound - 1 < 2 ** 31:         # Java's int-overflow rejection test
                break
        out[i] = r
    return out


def initial_batch(batch, size, seed, device, channels_last, init="torch"):
    """Official-code start: integers 0..254, minus 127.5, over 5418.75 (float32 arithmetic, drawn on the CPU for
    determinism). init "torch" draws them with torch.randint; "zeroq" with zeroq's java.util.Random stream."""
    shape = (batch, 3, size, size)
    if init == "zeroq":
        k = torch.tensor(java_random_ints(seed, batch * 3 * size * size, 255), dtype=torch.float32).reshape(shape)
    else:
        k = torch.randint(0, 255, shape, generator=torch.Generator().manual_seed(seed)).float()
    x = (k - 127.5) / 5418.75
    x = x.to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_(True)


def optimizer_for(x):
    opt = torch.optim.Adam([x], lr=LR)  # default betas (0.9, 0.999), eps 1e-8
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=100, threshold=1e-4,
                                                       threshold_mode="rel", min_lr=1e-4)
    return opt, sched


def step(dist, x, opt, sched):
    opt.zero_grad(set_to_none=True)
    loss = dist.loss(x)
    loss.backward()
    opt.step()
    value = loss.item()     # the scheduler needs the loss on the host every iteration, as in the official code
    sched.step(value)
    return value


def set_tf32(on):
    """TF32 for convolutions and matmuls on or off. torch >= 2.9 has per-backend fp32_precision ("ieee" or "tf32")
    and deprecates the allow_tf32 flags (mixing the two APIs can raise), so the new one is used where it exists.
    Returns what is now in force, for the log."""
    mode = "tf32" if on else "ieee"
    if hasattr(torch.backends, "fp32_precision"):
        try:
            torch.backends.fp32_precision = mode
            torch.backends.cuda.matmul.fp32_precision = mode
            torch.backends.cudnn.fp32_precision = mode
            torch.backends.cudnn.conv.fp32_precision = mode
            return (f"fp32_precision matmul={torch.backends.cuda.matmul.fp32_precision} "
                    f"conv={torch.backends.cudnn.conv.fp32_precision}")
        except Exception as e:  # an API in between: fall back to the flags
            print(f"peer: fp32_precision not settable ({type(e).__name__}: {e}); using allow_tf32")
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    return f"allow_tf32 matmul={torch.backends.cuda.matmul.allow_tf32} cudnn={torch.backends.cudnn.allow_tf32}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="an ONNX file written by export_torchvision.py (arch from its name)")
    ap.add_argument("--arch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--full", type=int, default=0)
    ap.add_argument("--tf32", choices=["on", "off"], default="off")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", choices=["torch", "zeroq"], default="torch",
                    help="starting-image random stream: torch.randint, or zeroq's own (slow in Python: ~1 s/image)")
    a = ap.parse_args()

    prov = provenance_for(a.model) if a.model else None
    arch = a.arch or (prov or {}).get("arch") or (os.path.splitext(os.path.basename(a.model))[0] if a.model else None)
    if not arch:
        ap.error("give MODEL.onnx or --arch")
    size = (prov or {}).get("input_size", 224)
    model_seed = (prov or {}).get("seed", ex.SEED)
    cuda = a.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("PEER FAIL: CUDA not available to torch (use --device cpu for a logic check)")
        sys.exit(1)
    # zeroq computes in strict FP32: TF32 off unless asked for (torch >= 1.12 defaults matmul TF32 off, cuDNN on).
    precision = set_tf32(a.tf32 == "on")
    torch.backends.cudnn.benchmark = True

    t0 = time.time()
    # Built on the device the export used for its BN passes, so the statistics round the same way as in the file.
    build_device = (prov or {}).get("bn_statistics", {}).get("device", a.device)
    if build_device.startswith("cuda") and not torch.cuda.is_available():
        build_device = "cpu"
    model = ex.build_model(arch, seed=model_seed, size=size, device=build_device)
    note = match_onnx(model, a.model) if a.model else "onnx-check skipped (built from --arch)"
    model = model.to(a.device).eval()
    for p in model.parameters():
        p.requires_grad_(False)     # only the input is optimized
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    dist = Distillation(model)
    name = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"peer torch {torch.__version__} cudnn {torch.backends.cudnn.version()} on {name}: {arch} {size}x{size}, "
          f"batch {a.batch}, tf32 {a.tf32} ({precision}), channels_last {a.channels_last}, {len(dist.targets)} BN terms, "
          f"setup {time.time() - t0:.1f} s; {note}")

    x = initial_batch(a.batch, size, a.seed, a.device, a.channels_last, a.init)
    opt, sched = optimizer_for(x)
    losses = [step(dist, x, opt, sched) for _ in range(a.warmup)]
    times = []
    if cuda:
        torch.cuda.synchronize()
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(a.iters)]
        w0 = time.perf_counter()
        for start, end in events:
            start.record()
            losses.append(step(dist, x, opt, sched))
            end.record()
        torch.cuda.synchronize()
        wall = (time.perf_counter() - w0) * 1e3
        times = [s.elapsed_time(e) for s, e in events]
    else:
        w0 = time.perf_counter()
        for _ in range(a.iters):
            i0 = time.perf_counter()
            losses.append(step(dist, x, opt, sched))
            times.append((time.perf_counter() - i0) * 1e3)
        wall = (time.perf_counter() - w0) * 1e3
    if not all(map(lambda v: v == v and abs(v) != float("inf"), losses)):
        print(f"PEER FAIL: the loss is not finite: {losses[:5]} ...")
        sys.exit(1)
    med = statistics.median(times)
    print("losses: " + " ".join(f"{v:.7g}" for v in losses[:4]) + (" ..." if len(losses) > 4 else ""))
    print(f"losses: first {losses[0]:.6g}, last {losses[-1]:.6g} after {len(losses)} iterations, lr {opt.param_groups[0]['lr']:g}")
    print(f"RESULT peer=torch arch={arch} batch={a.batch} tf32={a.tf32} channels_last={str(a.channels_last).lower()} "
          f"device={'cuda' if cuda else 'cpu'} warmup={a.warmup} iters={a.iters} it_per_s={1000.0 / med:.2f} "
          f"ms_per_it={med:.3f} mean_ms={statistics.fmean(times):.3f} min_ms={min(times):.3f} max_ms={max(times):.3f} "
          f"wall_ms={wall:.1f} images_per_s={1000.0 / med * a.batch:.1f}")

    if a.full > 0:
        x = initial_batch(a.batch, size, a.seed, a.device, a.channels_last, a.init)
        opt, sched = optimizer_for(x)
        if cuda:
            torch.cuda.synchronize()
        f0 = time.perf_counter()
        curve = [step(dist, x, opt, sched) for _ in range(a.full)]
        if cuda:
            torch.cuda.synchronize()
        print(f"FULL peer=torch arch={arch} batch={a.batch} tf32={a.tf32} iters={a.full} "
              f"seconds={time.perf_counter() - f0:.2f} first_loss={curve[0]:.6g} final_loss={curve[-1]:.6g} "
              f"final_lr={opt.param_groups[0]['lr']:g}")


if __name__ == "__main__":
    main()
