"""Inference variants: PyTorch ``predict``, ONNX Runtime fp32 / int8, compile.

All are timed interleaved on the same images against open_clip zero-shot
(``encode_image`` + cached text features).
"""
import os.path as osp
from typing import Callable, Dict, Optional

import torch


def onnx_callables(model: torch.nn.Module, folder: str,
                   threads: Optional[int]) -> Dict[str, Callable]:
    """Export ``model`` to fp32 and int8 ONNX; return session factories.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (eval mode).
        folder (str): Where the ``.onnx`` files go.
        threads (int, optional): onnxruntime intra-op threads (the torch
            count, for a fair comparison).

    Returns:
        dict: ``{'ONNX fp32': run, 'ONNX int8': run}`` where
        ``run(rgb_numpy)`` returns the logits; plus ``'files'`` sizes under
        the key ``'_bytes'``.
    """
    from ..apis import export_onnx, ort_session, quantize_onnx
    if next(model.parameters()).device.type != 'cpu':
        import copy
        model = copy.deepcopy(model).cpu()
    fp32 = export_onnx(model, osp.join(folder, 'mpa_fer.onnx'),
                       input_format='normalized')
    int8 = quantize_onnx(fp32, osp.join(folder, 'mpa_fer.int8.onnx'))
    out = {}
    for name, path in (('ONNX fp32', fp32), ('ONNX int8', int8)):
        session = ort_session(path, threads)

        def run(x, session=session):
            return session.run(['logits'], {'image': x})[0]

        out[name] = run
    out['_bytes'] = {'ONNX fp32': osp.getsize(fp32),
                     'ONNX int8': osp.getsize(int8)}
    return out


def compile_forward(model: torch.nn.Module,
                    compile_cfg: dict) -> Callable[[torch.Tensor], object]:
    """``torch.compile`` of the model's logits (``mode='tensor'``)."""

    def logits(x):
        return model(x, mode='tensor')

    return torch.compile(logits, **compile_cfg)


def graph_breaks(fn: Callable, *args) -> Dict:
    """Graphs and graph breaks dynamo finds in ``fn(*args)``.

    Returns:
        dict: ``graphs``, ``graph_breaks`` and the distinct break
        ``reasons`` (strings, at most 10).
    """
    import torch._dynamo as dynamo
    dynamo.reset()
    explanation = dynamo.explain(fn)(*args)
    reasons = []
    for brk in explanation.break_reasons:
        reason = str(getattr(brk, 'reason', brk)).splitlines()[0][:200]
        if reason not in reasons:
            reasons.append(reason)
    dynamo.reset()
    return dict(graphs=explanation.graph_count,
                graph_breaks=explanation.graph_break_count,
                reasons=reasons[:10])
