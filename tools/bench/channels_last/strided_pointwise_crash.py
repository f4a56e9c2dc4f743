#!/usr/bin/python3
"""Minimal reproducer, outside segdistill, of the channels-last crash of LibTorch 1.13 /
oneDNN 2.6 (Debian's python3-torch uses the same libtorch and libdnnl as segdistill).

One 1x1 convolution of stride 2, channels-last, forward + backward. oneDNN's
jit_1x1 backward-data kernel (ONEDNN_VERBOSE=1 names it: jit_1x1:avx512_core or
jit_1x1:avx2, backward_data, src acdb) writes past the input gradient when the input
channels are fewer than its vector block, so the heap is corrupted: SIGSEGV, SIGABRT
("free(): invalid next size", "double free or corruption") or a hang.

    /usr/bin/python3 strided_pointwise_crash.py            # one case: 4 -> 8 channels, 128 x 128
    /usr/bin/python3 strided_pointwise_crash.py --sweep    # which input channels fail, per stride

Each case runs in a forked child, so a crash is reported instead of ending the sweep.
Run it under ONEDNN_MAX_CPU_ISA=AVX2 / SSE41 to see the other kernels' range."""
import os
import signal
import sys

import torch


def case(cin, cout, size, stride, dtype=torch.float32):
    """Exit status of a child that trains one channels-last conv; 0 when it survived and its
    input gradient equals NCHW's."""
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)  # a corrupted heap can also hang
        torch.set_num_threads(2)
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(cin, cout, 1, stride, bias=False).to(dtype)
        x = torch.randn(2, cin, size, size, dtype=dtype)
        grads = []
        for layout in (torch.contiguous_format, torch.channels_last):
            c = conv.to(memory_format=layout)
            xi = x.clone(memory_format=layout).requires_grad_()
            for _ in range(3):
                xi.grad = None
                c(xi).float().square().mean().backward()
            grads.append(xi.grad.float())
        wrong = (grads[0] - grads[1]).abs().max() > 1e-2 * grads[0].abs().max()
        os._exit(7 if wrong else 0)
    return os.waitpid(pid, 0)[1]


def describe(status):
    if status == 0:
        return "ok"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "hang" if sig == signal.SIGALRM else signal.Signals(sig).name
    return "wrong gradient" if os.WEXITSTATUS(status) == 7 else f"exit {os.WEXITSTATUS(status)}"


def main():
    if "--sweep" not in sys.argv:
        print("1x1 conv, stride 2, 4 -> 8 channels, 128 x 128, channels-last:", describe(case(4, 8, 128, 2)))
        return
    for stride in (1, 2):
        failing = []
        for cin in list(range(1, 34)) + [48, 64]:
            outcomes = {describe(case(cin, cout, size, stride)) for cout in (4, 16, 64) for size in (64, 128)}
            outcomes.discard("ok")
            if outcomes:
                failing.append(f"{cin} ({', '.join(sorted(outcomes))})")
        print(f"stride {stride}: input channels that fail: {'; '.join(failing) or 'none'}")


if __name__ == "__main__":
    main()
