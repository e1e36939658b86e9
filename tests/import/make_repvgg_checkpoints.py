#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent RepVGG in PyTorch, written from the paper (Ding et al., "RepVGG: Making
VGG-style ConvNets Great Again", CVPR 2021), used to check `repvk-train import`.

Training block: ReLU(BN(conv3x3(x)) + BN(conv1x1(x)) [+ BN(x) when in == out and stride 1]).
Deploy block: ReLU(conv3x3_with_bias(x)), the three branches folded by this script's own
fusion. Parameter names follow the public code's state dicts (stageN.M.rbr_dense.conv...).

Writes into OUT_DIR, per model (small, A0):
  NAME-train.pth, NAME-deploy.pth  state_dict() of each form (an OrderedDict)
  NAME-input.f32, NAME-logits.f32  a fixed random batch and the training form's eval logits
  NAME.json                        shapes and the metadata the C++ test needs
plus checkpoints in the other layouts users have (wrapped, module. prefix) and one per
bad-input class. Random weights, random BN statistics, eval mode.

With python3-onnx, also ONNX exports (torch.onnx.export, its default opset) of the same
networks, which compute the same logits:
  NAME-train.onnx, NAME-deploy.onnx  eval-mode exports (the exporter folds each conv's BN)
  small-train-bn.onnx                TrainingMode.PRESERVE: BatchNormalization nodes kept
  small-train-conv-bias.onnx         the same with a bias on every conv, compensated in its BN
  small-head.onnx                    GlobalAveragePool, Flatten, MatMul + Add, outputs logits
                                     and Softmax probabilities
  small-reshape-constants.onnx       ReduceMean(keepdims) + Reshape, weights as Constant nodes
and one broken graph per bad-input class (bad-onnx-*.onnx).
"""
import collections
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride, groups=1):
    seq = nn.Sequential()
    seq.add_module("conv", nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False))
    seq.add_module("bn", nn.BatchNorm2d(cout))
    return seq


class Block(nn.Module):
    def __init__(self, cin, cout, stride, deploy, groups=1):
        super().__init__()
        self.deploy = deploy
        if deploy:
            self.rbr_reparam = nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=True)
        else:
            self.rbr_identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
            self.rbr_dense = conv_bn(cin, cout, 3, stride, groups)
            self.rbr_1x1 = conv_bn(cin, cout, 1, stride, groups)

    def forward(self, x):
        if self.deploy:
            return F.relu(self.rbr_reparam(x))
        y = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            y = y + self.rbr_identity(x)
        return F.relu(y)

    def fused(self):
        """(kernel, bias) of the equivalent 3x3 conv, in float64."""
        def fold(kernel, bn):
            s = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
            return kernel.double() * s.view(-1, 1, 1, 1), bn.bias.double() - bn.running_mean.double() * s
        k3, b3 = fold(self.rbr_dense.conv.weight, self.rbr_dense.bn)
        k1, b1 = fold(self.rbr_1x1.conv.weight, self.rbr_1x1.bn)
        k = k3.clone()
        k[:, :, 1:2, 1:2] += k1
        b = b3 + b1
        if self.rbr_identity is not None:
            cin = k.shape[1]
            eye = torch.zeros_like(k)
            for i in range(k.shape[0]):
                eye[i, i % cin, 1, 1] = 1.0
            ki, bi = fold(eye, self.rbr_identity)
            k += ki
            b += bi
        return k, b


class RepVGG(nn.Module):
    def __init__(self, cin, depths, widths, strides, classes, deploy, groups=1):
        super().__init__()
        prev = cin
        for s, (d, w, st) in enumerate(zip(depths, widths, strides)):
            blocks = []
            for i in range(d):
                g = groups if (s > 0 and i % 2 == 1) else 1
                blocks.append(Block(prev, w, st if i == 0 else 1, deploy, g))
                prev = w
            setattr(self, "stage%d" % s, blocks[0] if s == 0 else nn.Sequential(*blocks))
        self.linear = nn.Linear(prev, classes)
        self.depths = depths

    def blocks(self):
        for s, d in enumerate(self.depths):
            stage = getattr(self, "stage%d" % s)
            yield from ([stage] if s == 0 else list(stage))

    def forward(self, x):
        for b in self.blocks():
            x = b(x)
        return self.linear(x.mean((2, 3)))


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("conv.weight"):
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / fan_in) ** 0.5)
            elif name.endswith("bn.weight") or (name.endswith(".weight") and "rbr_identity" in name):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.6 + 0.4)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / p.shape[-1]) ** 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(1000)
    model.eval()


def deploy_copy(train_model, args):
    dep = RepVGG(*args, deploy=True)
    with torch.no_grad():
        for bt, bd in zip(train_model.blocks(), dep.blocks()):
            k, b = bt.fused()
            bd.rbr_reparam.weight.copy_(k.float())
            bd.rbr_reparam.bias.copy_(b.float())
        dep.linear.load_state_dict(train_model.linear.state_dict())
    return dep.eval()


PRESETS = {
    # name: (input CxHxW, depths, widths, strides, classes, batch)
    "small": ((1, 28, 28), [1, 2, 2, 2, 1], [16, 32, 64, 128, 256], [1, 2, 2, 2, 1], 10, 4),
    "A0": ((3, 224, 224), [1, 2, 4, 14, 1], [48, 48, 96, 192, 1280], [2, 2, 2, 2, 2], 1000, 1),
}


class HeadVariant(nn.Module):
    """A deploy network with another head: pool + flatten, a matmul, two outputs."""
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        for b in self.body.blocks():
            x = b(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        z = x @ self.body.linear.weight.t() + self.body.linear.bias
        return z, torch.softmax(z, 1)


class ReshapeVariant(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        for b in self.body.blocks():
            x = b(x)
        x = x.mean((2, 3), keepdim=True).reshape(-1, self.body.linear.in_features)
        return self.body.linear(x)


class TinyNet(nn.Module):
    """Non-RepVGG graphs for the bad-input tests: kind 5x5, branches or skip."""
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.a = nn.Conv2d(1, 8, 5 if kind == "5x5" else 3, 1, 2 if kind == "5x5" else 1)
        self.b = nn.Conv2d(1 if kind == "branches" else 8, 8, 3, 1, 1)
        self.linear = nn.Linear(8, 10)

    def forward(self, x):
        if self.kind == "branches":  # two 3x3 branches summed: not the three-branch pattern
            y = F.relu(self.a(x) + self.b(x))
        elif self.kind == "skip":  # the second block adds the graph input, not its own input
            y = F.relu(self.a(x))
            y = F.relu(self.b(y) + x)
        else:
            y = F.relu(self.b(F.relu(self.a(x))))
        return self.linear(y.mean((2, 3)))


def onnx_export(model, x, path, outputs=("logits",), **kw):
    torch.onnx.export(model, x, path, input_names=["pixels"], output_names=list(outputs), **kw)


def write_onnx_fixtures(out, name, model, dep, x, logits):
    import onnx  # python3-onnx; the caller skips ONNX without it
    import onnx.numpy_helper
    onnx_export(model, x, os.path.join(out, name + "-train.onnx"))
    onnx_export(dep, x, os.path.join(out, name + "-deploy.onnx"))
    if name != "small":
        return
    bn_path = os.path.join(out, "small-train-bn.onnx")
    onnx_export(model, x, bn_path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    assert any(n.op_type == "BatchNormalization" and n.input[0].endswith("Conv_output_0")
               for n in onnx.load(bn_path).graph.node), "PRESERVE export folded the BNs"
    # Conv with a bias and a BatchNormalization after it: each conv gets a random bias c
    # and its BN's running mean grows by c, which leaves the logits unchanged.
    m = onnx.load(bn_path)
    inits = {t.name: t for t in m.graph.initializer}
    bgen = torch.Generator().manual_seed(99)
    for n in m.graph.node:
        bn = next((b for b in m.graph.node if b.op_type == "BatchNormalization" and b.input[0] == n.output[0]), None)
        if n.op_type != "Conv" or bn is None:
            continue
        mean = inits[bn.input[3]]
        c = torch.randn(mean.dims[0], generator=bgen) * 0.3
        new_mean = torch.from_numpy(onnx.numpy_helper.to_array(mean).copy()) + c
        mean.CopyFrom(onnx.numpy_helper.from_array(new_mean.numpy(), mean.name))
        m.graph.initializer.append(onnx.numpy_helper.from_array(c.numpy(), n.name + ".bias"))
        n.input.append(n.name + ".bias")
    onnx.save(m, os.path.join(out, "small-train-conv-bias.onnx"))
    head = HeadVariant(dep).eval()
    with torch.no_grad():
        z, _ = head(x)
    assert (z - logits).abs().max().item() < 1e-4 * logits.abs().max().item()
    onnx_export(head, x, os.path.join(out, "small-head.onnx"), outputs=("logits", "probabilities"))
    rpath = os.path.join(out, "small-reshape-constants.onnx")
    onnx_export(ReshapeVariant(dep).eval(), x, rpath)
    m = onnx.load(rpath)
    consts = [onnx.helper.make_node("Constant", [], [t.name], name="const_" + t.name, value=t)
              for t in m.graph.initializer]
    nodes = consts + list(m.graph.node)
    del m.graph.initializer[:]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, rpath)

    # Bad inputs, one per class.
    def edit(src, dst, fn):
        m = onnx.load(os.path.join(out, src))
        fn(m.graph)
        onnx.save(m, os.path.join(out, dst))

    def node(g, name):
        return next(n for n in g.node if n.name == name)

    def replace_init(g, name, array):
        t = next(t for t in g.initializer if t.name == name)
        t.CopyFrom(onnx.numpy_helper.from_array(array, name))

    def drop_init(g, name):
        g.initializer.remove(next(t for t in g.initializer if t.name == name))

    edit("small-train-bn.onnx", "bad-onnx-unsupported-op.onnx",
         lambda g: setattr(node(g, "/stage2.0/Relu"), "op_type", "Elu"))
    edit("small-train-bn.onnx", "bad-onnx-missing-initializer.onnx",
         lambda g: drop_init(g, "stage2.1.rbr_dense.conv.weight"))
    edit("small-train-bn.onnx", "bad-onnx-shape.onnx",
         lambda g: replace_init(g, "stage3.0.rbr_dense.conv.weight", torch.zeros(128, 48, 3, 3).numpy()))
    edit("small-train-bn.onnx", "bad-onnx-fc-shape.onnx",
         lambda g: replace_init(g, "linear.weight", torch.zeros(10, 200).numpy()))
    grouped = RepVGG(1, [1, 2, 2, 2, 1], [16, 32, 64, 128, 256], [1, 2, 2, 2, 1], 10, deploy=False, groups=2).eval()
    onnx_export(grouped, x, os.path.join(out, "bad-onnx-grouped.onnx"))
    for kind in ("5x5", "branches", "skip"):
        onnx_export(TinyNet(kind).eval(), x, os.path.join(out, "bad-onnx-%s.onnx" % kind))
    with open(os.path.join(out, "small-train.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "bad-onnx-truncated.onnx"), "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    with open(os.path.join(out, "bad-onnx-garbled.onnx"), "w") as f:
        f.write("this is a text file, not a protobuf\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    for name, (shape, depths, widths, strides, classes, batch) in PRESETS.items():
        gen = torch.Generator().manual_seed(1234 + len(name))
        args = (shape[0], depths, widths, strides, classes)
        model = RepVGG(*args, deploy=False)
        randomize(model, gen)
        dep = deploy_copy(model, args)
        x = torch.randn((batch,) + shape, generator=gen)
        with torch.no_grad():
            logits = model(x)
            dlogits = dep(x)
        scale = logits.abs().max().item()
        fused_err = (logits - dlogits).abs().max().item() / scale
        assert fused_err < 1e-4, "the script's own fusion is off: %g" % fused_err
        sd, dsd = model.state_dict(), dep.state_dict()
        assert isinstance(sd, collections.OrderedDict)
        torch.save(sd, os.path.join(out, name + "-train.pth"))
        torch.save(dsd, os.path.join(out, name + "-deploy.pth"))
        x.numpy().astype("<f4").tofile(os.path.join(out, name + "-input.f32"))
        logits.numpy().astype("<f4").tofile(os.path.join(out, name + "-logits.f32"))
        try:
            import onnx  # noqa: F401
            write_onnx_fixtures(out, name, model, dep, x, logits)
        except ImportError:
            print("no python3-onnx: ONNX fixtures not written")
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"input": list(shape), "batch": batch, "classes": classes,
                       "depths": depths, "widths": widths, "strides": strides,
                       "max_abs_logit": scale, "deploy_vs_train": fused_err}, f)
        if name != "small":
            continue
        # Layouts real checkpoints come in.
        module_sd = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
        torch.save({"epoch": 90, "best_acc1": 71.5, "arch": "RepVGG-small",
                    "state_dict": module_sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}},
                   os.path.join(out, "small-wrapped-state_dict.pth"))
        torch.save({"model": dsd}, os.path.join(out, "small-wrapped-model.pth"))
        # A key with a non-leading "module." must keep it (and is then unexpected).
        inner = collections.OrderedDict(sd)
        inner["stage1.module.extra"] = torch.zeros(1)
        torch.save(inner, os.path.join(out, "bad-inner-module.pth"))
        # Bad inputs, one per class.
        missing = collections.OrderedDict(sd)
        del missing["stage2.1.rbr_1x1.bn.running_var"]
        torch.save(missing, os.path.join(out, "bad-missing.pth"))
        extra = collections.OrderedDict(sd)
        extra["stage3.0.se.down.weight"] = torch.zeros(8, 64, 1, 1)
        torch.save(extra, os.path.join(out, "bad-unexpected.pth"))
        shape_bad = collections.OrderedDict(sd)
        shape_bad["stage2.0.rbr_dense.conv.weight"] = torch.zeros(64, 32, 3, 1)
        torch.save(shape_bad, os.path.join(out, "bad-shape.pth"))
        mixed = collections.OrderedDict(sd)
        mixed["stage1.0.rbr_reparam.weight"] = dsd["stage1.0.rbr_reparam.weight"]
        torch.save(mixed, os.path.join(out, "bad-mixed-forms.pth"))
        resnet = collections.OrderedDict([("conv1.weight", torch.zeros(64, 3, 7, 7)),
                                          ("bn1.weight", torch.ones(64)), ("fc.weight", torch.zeros(10, 64)),
                                          ("fc.bias", torch.zeros(10))])
        torch.save(resnet, os.path.join(out, "bad-not-repvgg.pth"))
        grouped = RepVGG(1, depths, widths, strides, classes, deploy=False, groups=2)
        torch.save(grouped.state_dict(), os.path.join(out, "bad-grouped.pth"))
        torch.save(model, os.path.join(out, "bad-pickled-module.pth"))
        torch.save(sd, os.path.join(out, "bad-legacy.pth"), _use_new_zipfile_serialization=False)
        with open(os.path.join(out, "small-train.pth"), "rb") as f:
            data = f.read()
        with open(os.path.join(out, "bad-truncated.pth"), "wb") as f:
            f.write(data[: len(data) * 2 // 3])
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "import-fixtures")
