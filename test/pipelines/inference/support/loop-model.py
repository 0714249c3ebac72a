#!/usr/bin/env python3
"""A tiny ONNX graph that keeps onnxruntime busy for as long as asked: a Loop of `--trips` iterations (one float
addition each, about 1 us per iteration on a 2020s CPU) on a scalar that depends on the input, so nothing can be
folded away at load. Outputs fractions (all zero) and presence (all 0.5) with the shapes a model card promises,
so the daemon accepts it as a model. Used by the inference deadline tests (inference.workerTimeoutSeconds): with
a huge trip count, session.run() effectively never returns.

  python3 loop-model.py OUT.onnx --trips 5000000 --channels 256 --elements 3
"""
import argparse

import onnx
from onnx import TensorProto as T
from onnx import helper as h


def build(trips: int, channels: int, elements: int) -> onnx.ModelProto:
    body = h.make_graph(
        [h.make_node('Identity', ['cond_in'], ['cond_out']), h.make_node('Add', ['s_in', 'one'], ['s_out'])],
        'body',
        [h.make_tensor_value_info('i', T.INT64, []), h.make_tensor_value_info('cond_in', T.BOOL, []),
         h.make_tensor_value_info('s_in', T.FLOAT, [])],
        [h.make_tensor_value_info('cond_out', T.BOOL, []), h.make_tensor_value_info('s_out', T.FLOAT, [])],
        [h.make_tensor('one', T.FLOAT, [], [1.0])],
    )
    const = lambda name, dtype, dims, vals: h.make_node('Constant', [], [name], value=h.make_tensor(name, dtype, dims, vals))
    nodes = [
        const('trips', T.INT64, [], [trips]),
        const('go', T.BOOL, [], [True]),
        h.make_node('ReduceSum', ['spectrum'], ['s0'], keepdims=0),
        h.make_node('Loop', ['trips', 'go', 's0'], ['s'], body=body),
        const('zero', T.FLOAT, [], [0.0]),
        h.make_node('Mul', ['s', 'zero'], ['z']),
        const('starts', T.INT64, [1], [0]),
        const('ends', T.INT64, [1], [elements]),
        const('axes', T.INT64, [1], [1]),
        h.make_node('Slice', ['spectrum', 'starts', 'ends', 'axes'], ['head']),
        h.make_node('Mul', ['head', 'z'], ['fractions']),
        h.make_node('Sigmoid', ['fractions'], ['presence']),
    ]
    graph = h.make_graph(
        nodes, 'loop',
        [h.make_tensor_value_info('spectrum', T.FLOAT, ['n', channels])],
        [h.make_tensor_value_info('fractions', T.FLOAT, ['n', elements]),
         h.make_tensor_value_info('presence', T.FLOAT, ['n', elements])],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid('', 17)], producer_name='gemxrf-test')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--trips', type=int, required=True)
    ap.add_argument('--channels', type=int, default=256)
    ap.add_argument('--elements', type=int, default=3)
    a = ap.parse_args()
    onnx.save(build(a.trips, a.channels, a.elements), a.out)
