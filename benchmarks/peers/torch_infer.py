#!/usr/bin/env python3
"""The PyTorch inference peer of `zeroq bench --device cuda`: a torchvision CNN (ResNet-50 by default, random
weights: the timing does not depend on them) in eval mode, FP16, channels-last, cudnn.benchmark, under torch.inference_mode;
per batch size, warm-up then the median of CUDA-event times of whole forward passes with the input already on
the device (as zeroq's benchmark times it). Prints one RESULT line per batch.

Usage: python3 benchmarks/peers/torch_infer.py [--arch resnet50] [--batches 1,32,128] [--warmup 10] [--iters 30]
       [--device cuda|cpu] [--dtype fp16|fp32] [--size 224]
(--device cpu --dtype fp32 is for checking the script on a machine without a GPU; it times with the host clock.)
"""
import argparse
import statistics
import sys
import time

import torch
import torchvision


def build(arch, device, dtype):
    ctor = getattr(torchvision.models, arch)
    # torchvision >= 0.13 takes weights=None, older ones pretrained=False: both are a random initialization.
    try:
        model = ctor(weights=None)
    except TypeError:
        model = ctor(pretrained=False)
    model = model.eval().to(device=device, dtype=dtype)
    # channels-last: the NHWC layout cuDNN's tensor-core convolutions prefer (no transposes between layers).
    return model.to(memory_format=torch.channels_last)


def time_batch(model, batch, size, device, dtype, warmup, iters):
    gen = torch.Generator().manual_seed(1000 + batch)
    x = torch.randn(batch, 3, size, size, generator=gen).to(device=device, dtype=dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(warmup):  # also lets cudnn.benchmark pick its algorithms for this shape
            model(x)
        times = []
        if device == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            for _ in range(iters):
                start.record()
                model(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
        else:
            for _ in range(iters):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="fp16", choices=["fp16", "fp32"])
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    if a.iters < 1:
        ap.error("--iters must be at least 1")
    if a.device == "cuda" and not torch.cuda.is_available():
        print(f"PEER FAIL peer=torch-{a.dtype} arch={a.arch}: CUDA not available to torch {torch.__version__}")
        sys.exit(1)
    dtype = torch.float16 if a.dtype == "fp16" else torch.float32
    torch.backends.cudnn.benchmark = True
    name = "cpu" if a.device == "cpu" else torch.cuda.get_device_name(0)
    print(f"torch_infer: {a.arch} {a.dtype} channels-last on {name}, torch {torch.__version__}, torchvision "
          f"{torchvision.__version__}, cudnn {torch.backends.cudnn.version()}, size {a.size}, warm-up {a.warmup}, "
          f"median of {a.iters} ({'CUDA events' if a.device == 'cuda' else 'host clock'}, input already on the device)")
    model = build(a.arch, a.device, dtype)
    failed = 0
    for b in [int(s) for s in a.batches.split(",") if s.strip()]:
        try:
            med, best = time_batch(model, b, a.size, a.device, dtype, a.warmup, a.iters)
        except Exception as e:  # e.g. out of memory at one batch: report it and go on with the others
            print(f"PEER FAIL peer=torch-{a.dtype} arch={a.arch} batch={b}: {type(e).__name__}: {e}")
            failed += 1
            continue
        print(f"RESULT peer=torch-{a.dtype} arch={a.arch} batch={b} median_ms={med:.4f} min_ms={best:.4f} "
              f"images_per_s={b / (med * 1e-3):.1f}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
