"""The model as the ONNX graph of FEATURES.md §6, and its check against scikit-learn.

Why by hand with onnx.helper rather than a converter: the broker feeds the sparse feature
vector directly as (indices, values) padded to the batch's widest message, which no converter
produces, and the graph must stay within core operators of opset 17 that onnxruntime 1.24.4
runs everywhere:

    scores = Sigmoid(ReduceSum(Gather(W, indices) * Unsqueeze(values, -1), axes=[1]) + b)
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import features
from dataset import CATEGORIES

OPSET = 17
IR_VERSION = 8
"""The IR version that goes with opset 17 (ONNX 1.12); onnxruntime 1.24.4 reads it."""

PRODUCER = "tallymq-ai-filter-train"


def build(w, b, model_version):
    """The ModelProto for weights W [BUCKETS, 7] (row 0 zero) and bias b [7], float32."""
    n_cat = len(CATEGORIES)
    if w.shape != (features.BUCKETS, n_cat) or w.dtype != np.float32:
        raise ValueError(f"W must be float32 [{features.BUCKETS}, {n_cat}], is {w.dtype} {w.shape}")
    if b.shape != (n_cat,) or b.dtype != np.float32:
        raise ValueError(f"b must be float32 [{n_cat}], is {b.dtype} {b.shape}")
    if np.any(w[0] != 0):
        raise ValueError("row 0 of W is padding and must be zero")

    indices = helper.make_tensor_value_info("indices", TensorProto.INT64, ["batch", "width"])
    values = helper.make_tensor_value_info("values", TensorProto.FLOAT, ["batch", "width"])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", n_cat])

    initializers = [
        numpy_helper.from_array(w, "W"),
        numpy_helper.from_array(b, "b"),
        numpy_helper.from_array(np.asarray([-1], dtype=np.int64), "unsqueeze_axes"),
        numpy_helper.from_array(np.asarray([1], dtype=np.int64), "reduce_axes"),
    ]
    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["rows"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["values", "unsqueeze_axes"], ["weights"], name="unsqueeze"),
        helper.make_node("Mul", ["rows", "weights"], ["weighted"], name="mul"),
        helper.make_node("ReduceSum", ["weighted", "reduce_axes"], ["logits_no_bias"], name="sum", keepdims=0),
        helper.make_node("Add", ["logits_no_bias", "b"], ["logits"], name="add_bias"),
        helper.make_node("Sigmoid", ["logits"], ["scores"], name="sigmoid"),
    ]
    graph = helper.make_graph(nodes, "harassment", [indices, values], [scores], initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=model_version,
        doc_string=(
            "tallymq harassment model, feature spec %d: scores in order %s"
            % (features.SPEC, ", ".join(CATEGORIES))
        ),
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def pad(texts):
    """(indices int64 [n, width], values float32 [n, width]) for raw texts, padded with 0."""
    vectors = [features.features(t) for t in texts]
    width = max([len(v) for v in vectors] + [1])
    indices = np.zeros((len(texts), width), dtype=np.int64)
    values = np.zeros((len(texts), width), dtype=np.float32)
    for row, vec in enumerate(vectors):
        for col, (bkt, val) in enumerate(vec):
            indices[row, col] = bkt
            values[row, col] = val
    return indices, values


class Runtime:
    """The exported model in onnxruntime, as the broker runs it (one thread)."""

    def __init__(self, path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def scores(self, texts, batch=256):
        out = []
        for start in range(0, len(texts), batch):
            indices, values = pad(texts[start : start + batch])
            out.append(self.session.run(["scores"], {"indices": indices, "values": values})[0])
        if not out:
            return np.zeros((0, len(CATEGORIES)), dtype=np.float32)
        return np.concatenate(out, axis=0)
